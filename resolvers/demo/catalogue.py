"""The demo tenants' equipment and a few weeks of reservations around the day of seeding.

Pure data: ``resolvers.demo.seed`` turns it into rows. Booking days are relative to the day of
seeding in the tenant's time zone, so the demo always has past, current and upcoming
work. Every booking that is not CANCELED must fit the stock together with all the
others (buffers included); the seeder checks that with the booking rules and fails
loudly if an edit here would overbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.tables import ReservationStatus, Tracking

S = ReservationStatus


@dataclass(frozen=True)
class DemoItem:
    code: str
    name: str
    category: str
    description: str
    tags: tuple[str, ...]
    quantity: int = 0  # BULK stock; SERIALIZED stock is the number of AVAILABLE units
    serials: tuple[str, ...] = ()
    in_maintenance: tuple[str, ...] = ()
    buffer_before: int = 0  # minutes of preparation that block stock
    buffer_after: int = 0  # minutes of return handling that block stock

    @property
    def tracking(self) -> Tracking:
        return Tracking.SERIALIZED if self.serials else Tracking.BULK


@dataclass(frozen=True)
class DemoLine:
    code: str
    quantity: int = 1
    serial: str | None = None


@dataclass(frozen=True)
class DemoBooking:
    title: str
    starts: tuple[int, int]  # (days from the day of seeding, local hour)
    ends: tuple[int, int]
    status: ReservationStatus
    lines: tuple[DemoLine, ...]
    for_customer: bool = False
    notes: str = ""


def serials(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{index:03d}" for index in range(1, count + 1))


def take(code: str, quantity: int) -> DemoLine:
    return DemoLine(code, quantity)


def unit(code: str, serial: str) -> DemoLine:
    return DemoLine(code, 1, serial)


# The tables below are data: one item or booking per block reads better than one value per line.
# fmt: off
ESR_CATALOGUE = (
    DemoItem(
        "ESR-LED-P26", "LED panel 500x500 P2.6", "LED walls",
        "Indoor LED cabinet, 2.6 mm pixel pitch, 1200 nits; 4 x 2 panels make a 2 x 1 m wall.",
        ("led", "indoor", "p2.6"), quantity=120, buffer_before=120, buffer_after=120,
    ),
    DemoItem(
        "ESR-LED-P39", "LED panel 500x1000 P3.9 outdoor", "LED walls",
        "Weatherproof (IP65) LED cabinet, 3.9 mm pitch, 5000 nits for daylight shows.",
        ("led", "outdoor", "p3.9"), quantity=80, buffer_before=120, buffer_after=180,
    ),
    DemoItem(
        "ESR-LED-BAR", "LED flying bar 1 m", "Rigging",
        "Hanging bar for P2.6 and P3.9 panels, with safety shackles.",
        ("led", "rigging"), quantity=40,
    ),
    DemoItem(
        "ESR-GND-STK", "LED ground-stack frame", "Rigging",
        "Floor-standing support for walls up to 6 m wide, ballast plates included.",
        ("led", "rigging", "outdoor"), quantity=12, buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "ESR-TRS-3M", "Truss F34 3 m", "Rigging",
        "Aluminium 4-point truss segment, conical connectors.",
        ("truss", "rigging"), quantity=60,
    ),
    DemoItem(
        "ESR-HST-1T", "Chain hoist 1 t D8+", "Rigging",
        "Electric chain hoist for flying walls above people; inspected after every job.",
        ("rigging", "hoist"), quantity=16, buffer_before=60, buffer_after=120,
    ),
    DemoItem(
        "ESR-STG-2X1", "Stage deck 2x1 m", "Stages",
        "Aluminium stage platform with anti-slip surface, 750 kg/m².",
        ("stage",), quantity=48, buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "ESR-STG-LEG", "Stage leg 60-100 cm", "Stages",
        "Telescopic leg for stage decks; four per deck.",
        ("stage",), quantity=200,
    ),
    DemoItem(
        "ESR-CBL-PWR", "Power cable 16 A 10 m", "Cabling",
        "CEE 16 A extension cable for LED cabinets and processors.",
        ("cable", "power"), quantity=150,
    ),
    DemoItem(
        "ESR-CBL-SDI", "SDI cable 12G 25 m", "Cabling",
        "12G-SDI video cable on a drum, BNC both ends.",
        ("cable", "video"), quantity=80,
    ),
    DemoItem(
        "ESR-PRC-VX1K", "LED processor Novastar VX1000", "LED processors",
        "All-in-one LED controller and scaler, 6.5 million pixels, 10 Ethernet outputs.",
        ("led", "processor"), serials=serials("ESR-PRC", 4), buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "ESR-PRC-SX40", "LED processor Brompton Tessera SX40", "LED processors",
        "4K LED processor for broadcast and camera-facing walls.",
        ("led", "processor", "4k"), serials=serials("ESR-SX40", 3), buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "ESR-CAM-UE150", "PTZ camera Panasonic AW-UE150", "Cameras",
        "4K pan-tilt-zoom camera for IMAG and streams, 20x zoom, 12G-SDI.",
        ("camera", "ptz", "4k"), serials=serials("ESR-CAM", 6), in_maintenance=("ESR-CAM-006",),
        buffer_after=60,
    ),
    DemoItem(
        "ESR-CAM-FX6", "Cinema camera Sony FX6", "Cameras",
        "Full-frame cinema camera kit with 24-105 mm lens, monitor and batteries.",
        ("camera", "4k"), serials=serials("ESR-FX6", 3), buffer_after=60,
    ),
    DemoItem(
        "ESR-SWR-V160", "Video switcher Roland V-160HD", "Video",
        "16-input streaming switcher with two scalers for the LED wall feed.",
        ("video", "switcher"), serials=serials("ESR-SWR", 2), buffer_before=60,
    ),
    DemoItem(
        "ESR-MED-SRV", "Media server Resolume Arena", "Video",
        "Rack PC with Resolume Arena, 2 x DisplayPort and 4 x SDI out.",
        ("video", "media-server"), serials=serials("ESR-MED", 2), buffer_before=60,
    ),
    DemoItem(
        "ESR-STG-MOB", "Mobile stage 8x6 m", "Stages",
        "Hydraulic trailer stage with roof, set up by two technicians in 2 hours.",
        ("stage", "outdoor"), serials=serials("ESR-MST", 2), buffer_before=240, buffer_after=240,
    ),
    DemoItem(
        "ESR-LED-TRL", "LED screen trailer 12 m²", "LED walls",
        "Self-contained outdoor screen on a trailer with generator, ready in 20 minutes.",
        ("led", "outdoor", "trailer"), serials=serials("ESR-TRL", 2), buffer_before=120, buffer_after=120,
    ),
)

ESR_BOOKINGS = (
    DemoBooking(
        "Automotive launch - Munich", (-27, 8), (-24, 18), S.RETURNED,
        (take("ESR-LED-P26", 60), unit("ESR-PRC-VX1K", "ESR-PRC-001"), unit("ESR-PRC-VX1K", "ESR-PRC-002"),
         take("ESR-TRS-3M", 20), take("ESR-HST-1T", 8), take("ESR-CBL-PWR", 30)),
    ),
    DemoBooking(
        "Corporate AGM - Frankfurt", (-22, 7), (-20, 20), S.RETURNED,
        (take("ESR-LED-P26", 40), take("ESR-PRC-VX1K", 1), unit("ESR-CAM-UE150", "ESR-CAM-001"),
         unit("ESR-CAM-UE150", "ESR-CAM-002"), unit("ESR-SWR-V160", "ESR-SWR-001")),
        for_customer=True,
    ),
    DemoBooking(
        "Open-air cinema - Leipzig", (-19, 10), (-15, 12), S.RETURNED,
        (take("ESR-LED-P39", 48), take("ESR-GND-STK", 4), unit("ESR-PRC-SX40", "ESR-SX40-001"),
         unit("ESR-STG-MOB", "ESR-MST-001")),
    ),
    DemoBooking(
        "Trade fair booth - Düsseldorf", (-16, 6), (-12, 20), S.RETURNED,
        (take("ESR-LED-P26", 90), take("ESR-LED-BAR", 18), take("ESR-PRC-VX1K", 2), take("ESR-CBL-SDI", 12)),
        for_customer=True,
    ),
    DemoBooking(
        "City square public viewing - Nuremberg", (-10, 8), (3, 18), S.CHECKED_OUT,
        (take("ESR-LED-P39", 32), take("ESR-GND-STK", 2), unit("ESR-PRC-SX40", "ESR-SX40-002"),
         unit("ESR-LED-TRL", "ESR-TRL-001")),
        notes="Long-running outdoor screen; weekly check by the Nuremberg crew.",
    ),
    DemoBooking(
        "Product keynote - Berlin", (-2, 7), (1, 22), S.CHECKED_OUT,
        (take("ESR-LED-P26", 80), unit("ESR-PRC-VX1K", "ESR-PRC-001"), unit("ESR-PRC-VX1K", "ESR-PRC-002"),
         take("ESR-CAM-UE150", 3), unit("ESR-SWR-V160", "ESR-SWR-001"), unit("ESR-MED-SRV", "ESR-MED-001"),
         take("ESR-TRS-3M", 24), take("ESR-HST-1T", 8)),
        for_customer=True,
    ),
    DemoBooking(
        "Esports qualifier - Cologne", (3, 9), (5, 23), S.CANCELED,
        (take("ESR-LED-P26", 110), take("ESR-PRC-VX1K", 3)),
        notes="Called off by the organiser.",
    ),
    DemoBooking(
        "Gala dinner - Hamburg", (4, 12), (6, 2), S.CONFIRMED,
        (take("ESR-LED-P26", 60), take("ESR-PRC-VX1K", 1), take("ESR-STG-2X1", 24), take("ESR-STG-LEG", 96),
         unit("ESR-CAM-FX6", "ESR-FX6-001")),
    ),
    DemoBooking(
        "Music festival main stage - Dresden", (8, 6), (12, 23), S.CONFIRMED,
        (take("ESR-LED-P39", 72), take("ESR-GND-STK", 8), unit("ESR-PRC-SX40", "ESR-SX40-001"),
         unit("ESR-STG-MOB", "ESR-MST-001"), take("ESR-CBL-PWR", 60), take("ESR-HST-1T", 12)),
    ),
    DemoBooking(
        "Congress plenary - Vienna", (9, 7), (11, 19), S.CONFIRMED,
        (take("ESR-LED-P26", 100), unit("ESR-PRC-VX1K", "ESR-PRC-003"), unit("ESR-PRC-VX1K", "ESR-PRC-004"),
         unit("ESR-CAM-UE150", "ESR-CAM-003"), unit("ESR-CAM-UE150", "ESR-CAM-004"),
         unit("ESR-CAM-UE150", "ESR-CAM-005"), unit("ESR-SWR-V160", "ESR-SWR-002")),
        for_customer=True,
    ),
    DemoBooking(
        "Pharma roadshow - Basel", (15, 8), (17, 18), S.REQUESTED,
        (take("ESR-LED-P26", 40), take("ESR-PRC-VX1K", 1), take("ESR-STG-2X1", 12), take("ESR-STG-LEG", 48)),
        for_customer=True,
    ),
    DemoBooking(
        "Wedding fair - Stuttgart", (20, 9), (21, 19), S.REQUESTED,
        (take("ESR-LED-P26", 24), take("ESR-CAM-UE150", 2)),
        for_customer=True, notes="Two cameras only if the budget allows.",
    ),
    DemoBooking(
        "Car dealer opening - Essen", (22, 8), (23, 20), S.CONFIRMED,
        (take("ESR-LED-P39", 20), unit("ESR-STG-MOB", "ESR-MST-002"), unit("ESR-LED-TRL", "ESR-TRL-002")),
    ),
    DemoBooking(
        "Sports bar screening weekend", (25, 12), (27, 23), S.CONFIRMED,
        (take("ESR-LED-P26", 60), take("ESR-PRC-VX1K", 2), take("ESR-MED-SRV", 1)),
    ),
)

CMH_CATALOGUE = (
    DemoItem(
        "CMH-CAM-HDC", "Broadcast camera Sony HDC-3500", "Broadcast cameras",
        "4K system camera with fibre base station and 22x box lens for the main arena.",
        ("camera", "broadcast", "4k"), serials=serials("CMH-CAM", 5), in_maintenance=("CMH-CAM-004",),
        buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "CMH-CAM-PTZ", "PTZ camera BirdDog P400", "Broadcast cameras",
        "Remote 4K PTZ camera for warm-up arenas and stable cams, NDI and SDI.",
        ("camera", "ptz", "ndi"), serials=serials("CMH-PTZ", 6),
    ),
    DemoItem(
        "CMH-ENC-LU800", "Streaming encoder LiveU LU800", "Encoders",
        "Bonded-cellular encoder: up to 4 feeds over 5G, Wi-Fi and Ethernet.",
        ("encoder", "streaming", "5g"), serials=serials("CMH-ENC", 4), buffer_after=30,
    ),
    DemoItem(
        "CMH-ENC-MKX", "Hardware encoder Haivision Makito X4", "Encoders",
        "Low-latency HEVC encoder for contribution links to the studio.",
        ("encoder", "hevc"), serials=serials("CMH-MKX", 3),
    ),
    DemoItem(
        "CMH-RPL-SRV", "Replay server 6-channel", "Broadcast cameras",
        "Slow-motion replay server for jump-offs, with operator controller.",
        ("replay", "broadcast"), serials=serials("CMH-RPL", 2), buffer_before=60,
    ),
    DemoItem(
        "CMH-OBV", "OB van 6-camera", "Vehicles",
        "Outside-broadcast van with vision mixer, audio desk and commentary booth.",
        ("broadcast", "vehicle"), serials=serials("CMH-OBV", 2), buffer_before=240, buffer_after=240,
    ),
    DemoItem(
        "CMH-VEN-LOUNGE", "Riders' Lounge hall (400 m²)", "Spaces",
        "Heated hospitality hall next to the main arena, for auctions and receptions.",
        ("venue", "space", "indoor"), serials=("CMH-VEN-001",), buffer_before=240, buffer_after=180,
    ),
    DemoItem(
        "CMH-TRI-HD", "Heavy-duty camera tripod", "Camera support",
        "Fluid head and legs for broadcast cameras up to 30 kg.",
        ("camera", "support"), quantity=12,
    ),
    DemoItem(
        "CMH-MIC-COM", "Commentary headset", "Audio",
        "Broadcast headset with boom microphone for commentators.",
        ("audio", "commentary"), quantity=20,
    ),
    DemoItem(
        "CMH-CBL-FIB", "Tactical fibre drum 300 m", "Cabling",
        "SMPTE hybrid fibre for camera runs across the showground.",
        ("cable", "fibre"), quantity=10, buffer_after=60,
    ),
    DemoItem(
        "CMH-TNT-1020", "Marquee 10x20 m", "Tents & marquees",
        "Aluminium-frame marquee with side walls and windows, for 200 seated guests.",
        ("tent", "marquee", "outdoor"), quantity=4, buffer_before=240, buffer_after=240,
    ),
    DemoItem(
        "CMH-TNT-PG5", "Pagoda tent 5x5 m", "Tents & marquees",
        "Pointed-roof tent for sponsor booths and the stable office.",
        ("tent", "outdoor"), quantity=12, buffer_before=120, buffer_after=120,
    ),
    DemoItem(
        "CMH-TNT-FLR", "Marquee floor panel 1x1 m", "Tents & marquees",
        "Interlocking plastic floor tile for marquees on grass.",
        ("tent", "floor"), quantity=600, buffer_before=120, buffer_after=120,
    ),
    DemoItem(
        "CMH-TNT-HTR", "Tent heater 30 kW", "Tents & marquees",
        "Indirect diesel heater with thermostat and ducting.",
        ("tent", "heating"), quantity=10,
    ),
    DemoItem(
        "CMH-FRN-CHR", "Folding chair", "Furniture",
        "White padded folding chair.",
        ("furniture", "seating"), quantity=400, buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "CMH-FRN-TBL", "Banquet table 180 cm", "Furniture",
        "Folding table for eight, with white linen.",
        ("furniture", "table"), quantity=60, buffer_before=60, buffer_after=60,
    ),
    DemoItem(
        "CMH-FRN-BAR", "Cocktail table with cover", "Furniture",
        "Standing table, 110 cm high, with stretch cover.",
        ("furniture", "table"), quantity=40,
    ),
)

CMH_BOOKINGS = (
    DemoBooking(
        "Autumn Dressage Cup - Munich-Riem", (-26, 7), (-23, 20), S.RETURNED,
        (unit("CMH-CAM-HDC", "CMH-CAM-001"), unit("CMH-CAM-HDC", "CMH-CAM-002"),
         unit("CMH-CAM-HDC", "CMH-CAM-003"), unit("CMH-ENC-LU800", "CMH-ENC-001"), unit("CMH-OBV", "CMH-OBV-001"),
         take("CMH-CBL-FIB", 4), take("CMH-MIC-COM", 4), take("CMH-TRI-HD", 3)),
    ),
    DemoBooking(
        "Show jumping Grand Prix - Leipzig", (-20, 8), (-17, 21), S.RETURNED,
        (take("CMH-CAM-PTZ", 4), unit("CMH-ENC-LU800", "CMH-ENC-002"), take("CMH-TNT-1020", 2),
         take("CMH-FRN-CHR", 300), take("CMH-FRN-TBL", 40), take("CMH-TNT-HTR", 6)),
        for_customer=True,
    ),
    DemoBooking(
        "Eventing championships - Luhmühlen", (-13, 6), (-10, 19), S.RETURNED,
        (unit("CMH-CAM-HDC", "CMH-CAM-001"), unit("CMH-CAM-HDC", "CMH-CAM-002"), take("CMH-CAM-PTZ", 2),
         unit("CMH-ENC-LU800", "CMH-ENC-001"), unit("CMH-OBV", "CMH-OBV-002"), take("CMH-TNT-PG5", 6),
         unit("CMH-RPL-SRV", "CMH-RPL-001")),
    ),
    DemoBooking(
        "Young horses auction - Verden", (-9, 10), (-7, 22), S.RETURNED,
        (unit("CMH-VEN-LOUNGE", "CMH-VEN-001"), take("CMH-FRN-CHR", 250), take("CMH-FRN-TBL", 30),
         take("CMH-FRN-BAR", 20), take("CMH-ENC-LU800", 1)),
        for_customer=True,
    ),
    DemoBooking(
        "Hospitality village - Stuttgart", (-4, 8), (2, 20), S.CHECKED_OUT,
        (take("CMH-TNT-1020", 2), take("CMH-TNT-PG5", 8), take("CMH-TNT-FLR", 400), take("CMH-FRN-CHR", 200),
         take("CMH-FRN-TBL", 30), take("CMH-FRN-BAR", 24), take("CMH-TNT-HTR", 8)),
        for_customer=True,
    ),
    DemoBooking(
        "Indoor show jumping - Stuttgart", (-3, 7), (2, 23), S.CHECKED_OUT,
        (unit("CMH-CAM-HDC", "CMH-CAM-001"), unit("CMH-CAM-HDC", "CMH-CAM-002"),
         unit("CMH-CAM-HDC", "CMH-CAM-003"), take("CMH-CAM-PTZ", 4), unit("CMH-ENC-LU800", "CMH-ENC-001"),
         unit("CMH-ENC-LU800", "CMH-ENC-002"), unit("CMH-OBV", "CMH-OBV-001"), take("CMH-CBL-FIB", 6),
         take("CMH-MIC-COM", 6), take("CMH-TRI-HD", 4), unit("CMH-RPL-SRV", "CMH-RPL-001")),
    ),
    DemoBooking(
        "Dressage World Cup qualifier - Frankfurt", (5, 7), (8, 20), S.CONFIRMED,
        (unit("CMH-CAM-HDC", "CMH-CAM-005"), take("CMH-CAM-HDC", 2), take("CMH-CAM-PTZ", 3),
         unit("CMH-ENC-MKX", "CMH-MKX-001"), unit("CMH-OBV", "CMH-OBV-002"), take("CMH-TRI-HD", 4)),
    ),
    DemoBooking(
        "Stallion show - Celle", (6, 9), (7, 22), S.CANCELED,
        (unit("CMH-VEN-LOUNGE", "CMH-VEN-001"), take("CMH-FRN-CHR", 350)),
        for_customer=True, notes="Canceled by the customer; moved to next season.",
    ),
    DemoBooking(
        "Elite auction gala - Vechta", (10, 12), (11, 23), S.CONFIRMED,
        (unit("CMH-VEN-LOUNGE", "CMH-VEN-001"), take("CMH-FRN-CHR", 380), take("CMH-FRN-TBL", 50),
         take("CMH-FRN-BAR", 30), unit("CMH-ENC-LU800", "CMH-ENC-004"), take("CMH-CAM-PTZ", 2)),
        for_customer=True,
    ),
    DemoBooking(
        "Nations Cup - Mannheim", (13, 6), (16, 21), S.CONFIRMED,
        (unit("CMH-CAM-HDC", "CMH-CAM-001"), unit("CMH-CAM-HDC", "CMH-CAM-002"),
         unit("CMH-CAM-HDC", "CMH-CAM-003"), unit("CMH-ENC-LU800", "CMH-ENC-001"),
         unit("CMH-ENC-LU800", "CMH-ENC-002"), unit("CMH-OBV", "CMH-OBV-001"), take("CMH-TNT-1020", 1),
         take("CMH-TNT-HTR", 4), take("CMH-CBL-FIB", 6), unit("CMH-RPL-SRV", "CMH-RPL-002")),
    ),
    DemoBooking(
        "Club championship stream", (18, 8), (19, 18), S.REQUESTED,
        (take("CMH-CAM-PTZ", 3), take("CMH-ENC-LU800", 1), take("CMH-TNT-PG5", 2)),
        for_customer=True,
    ),
    DemoBooking(
        "Horse & rider training day", (21, 8), (22, 17), S.CONFIRMED,
        (take("CMH-CAM-PTZ", 2), unit("CMH-ENC-MKX", "CMH-MKX-003")),
    ),
    DemoBooking(
        "Sponsors' reception - Warendorf", (24, 15), (25, 1), S.REQUESTED,
        (unit("CMH-VEN-LOUNGE", "CMH-VEN-001"), take("CMH-FRN-CHR", 150), take("CMH-FRN-BAR", 20)),
        for_customer=True,
    ),
)

# fmt: on

CATALOGUES: dict[str, tuple[DemoItem, ...]] = {"esr": ESR_CATALOGUE, "cmh": CMH_CATALOGUE}
BOOKINGS: dict[str, tuple[DemoBooking, ...]] = {"esr": ESR_BOOKINGS, "cmh": CMH_BOOKINGS}
