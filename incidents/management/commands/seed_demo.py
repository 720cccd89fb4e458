"""Load a living demo scenario: checkpoints, roadblocks, armed groups and dangers around Caracas, on the
western border (Táchira, Apure) and on the approaches to Maracaibo.

Every write goes through the services, exactly as a phone's report, a vote or a moderator's decision
would: `report_submit`, then `report_process` right away (the demo must not wait for a worker; a
worker that also gets the report finds it already processed), `incident_vote` and
`incident_transition`. Nothing is inserted behind the domain's back, so the demo shows what the
rules really do: merging, distinct reporters, the publication policy, "gone" votes, expiry.

Times are relative to now, so the map is live whenever the command runs. Client ids are uuid5 of a
fixed namespace and a name, so running it again does not duplicate anything. The names carry a
round number: once the last round is older than ROUND_LENGTH a new round is submitted, so a demo
started the next day is live again. Devices are the same in every round, so a new round confirms
what is still live instead of inflating its reporters, and reopens what has ended.

There is no --reset: moderation events are append-only and protect their incidents from deletion,
and the rows the demo made cannot be told apart from real ones without reading report text.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand
from django.utils import timezone

from incidents import conf, keys, selectors, services
from incidents.errors import DomainError
from incidents.models import Incident, InvalidTransition, Report, Status

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:alcabala:seed-demo")
ROUND_LENGTH = timedelta(hours=1)
DEVICE_PREFIX = "seed-demo:"


def demo_source(device: str) -> str:
    """Each demo phone on a network of its own: a source pseudonym no address has (real groups start 4, 6, ?)."""
    return keys.source_key(b"demo:" + device.encode())


@dataclass(frozen=True)
class Sighting:
    """One report: which phone sent it, how long ago it saw the thing, what it said."""

    device: str
    # How long before now, as a fraction of the kind's time to live: 0.5 with a 6 h TTL is 3 h ago.
    ago: float
    text: str = ""
    east_m: float = 0
    north_m: float = 0
    # Sent by SMS as typed "lat, lon" rather than as a GPS point.
    typed: bool = False


@dataclass(frozen=True)
class Scene:
    """One thing at one place, seen by one or more phones, perhaps voted on or verified."""

    name: str
    kind: str
    place: str
    lon: float
    lat: float
    sightings: tuple[Sighting, ...]
    verify: str = ""  # the moderator's (private) reason; empty means not verified
    still_there: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    cleared: bool = False  # enough independent "gone" votes to clear it (GONE_SOURCES_TO_CLEAR)


S = Sighting

# [lon, lat], approximate, on the road or at the place named. Incidents of one kind are kept farther
# apart than that kind's merge radius; reports of one incident lie within a few tens of metres.
# The formatter would put each of a scene's name, kind, place and coordinates on a line of its own;
# kept on one line they read as a table.
# fmt: off
SCENES: tuple[Scene, ...] = (
    # --- Caracas ---------------------------------------------------------------------------------
    Scene(
        "fajardo-la-carlota", "checkpoint", "Autopista Francisco Fajardo a la altura de La Carlota", -66.8445, 10.4886,
        (
            S("tel-01", 0.40, "GNB parando carros en el canal rápido, cola hasta Los Ruices"),
            S("tel-02", 0.30, "alcabala de la GNB frente a La Carlota, revisan maleteros", 25, -10),
            S("tel-03", 0.15, "siguen ahí, piden cédula y papeles del carro", -30, 5),
            S("tel-04", 0.05, "", 10, 15),
        ),
        still_there=("tel-05",),
    ),
    Scene(
        "fajardo-plaza-venezuela", "checkpoint", "Fajardo sentido este, Plaza Venezuela", -66.8830, 10.4957,
        (
            S("tel-06", 0.35, "PNB con conos, dejaron un solo canal"),
            S("tel-07", 0.20, "policías revisando motos y bolsos", 40, 0),
            S("tel-08", 0.10, "todavía están, la cola llega al distribuidor", -20, -15),
        ),
    ),
    Scene(
        "baralt-el-silencio", "roadblock", "Av. Baralt, El Silencio", -66.9178, 10.5032,
        (
            S("tel-09", 0.25, "PNB cerró la Baralt hacia Miraflores con vallas y una tanqueta"),
            S("tel-10", 0.10, "no dejan pasar ni a pie, desvían por la Urdaneta", 0, 45),
        ),
    ),
    Scene(
        "catia-bulevar", "militia", "Bulevar de Catia, Av. Sucre", -66.9395, 10.5115,
        (
            S("tel-11", 0.45, "colectivos en moto frente al bulevar, unos con armas"),
            S("tel-12", 0.30, "como 15 motorizados con chalecos, intimidando a la gente", -35, 20),
            S("tel-13", 0.10, "siguen dando vueltas, la gente está cerrando los negocios", 20, -25),
        ),
    ),
    Scene(
        "petare-redoma", "militia", "Redoma de Petare", -66.8080, 10.4770,
        (S("tel-14", 0.20, "colectivos en moto en la redoma, cobrándole a los buseteros"),),
    ),
    Scene(
        "petare-jose-felix-ribas", "hazard", "Petare, barrio José Félix Ribas", -66.7950, 10.4800,
        (
            S("tel-15", 0.50, "se oyen disparos desde hace rato, la gente no sale"),
            S("tel-16", 0.35, "entró la policía al barrio, tiros en la parte alta", 50, 30),
            S("tel-17", 0.15, "siguen los disparos, no suban por la calle principal", -20, 40),
        ),
        still_there=("tel-18",),
    ),
    Scene(
        "el-valle-intercomunal", "checkpoint", "Intercomunal de El Valle", -66.9060, 10.4640,
        (
            S("tel-19", 0.30, "PNB en la Intercomunal, piden papeles y revisan bolsos"),
            S("tel-20", 0.12, "cola larga por la alcabala, van carro por carro", 0, -35),
        ),
        gone=("tel-21",),
    ),
    Scene(
        "valle-coche", "checkpoint", "Autopista Valle–Coche, a la altura de Coche", -66.9210, 10.4460,
        (
            S("tel-22", 0.50, "GNB con un camión atravesado, revisan a los que van para el centro"),
            S("tel-23", 0.40, "alcabala en la Valle–Coche, piden cédula", 30, 10),
        ),
        cleared=True,
    ),
    Scene(
        "altamira-miranda", "roadblock", "Av. Francisco de Miranda, Altamira", -66.8500, 10.4953,
        (
            S("tel-24", 0.20, "cerrada la Francisco de Miranda en Altamira, piquete antimotines"),
            S("tel-25", 0.15, "no pasa nada hacia el este, desvían por la Fajardo", -40, 0),
            S("tel-26", 0.05, "siguen las vallas en Altamira", 15, 10),
        ),
        gone=("tel-27",),
    ),
    Scene(
        "plaza-altamira", "hazard", "Plaza Altamira", -66.8487, 10.4966,
        (
            S("tel-28", 0.30, "bombas lacrimógenas en la plaza, cierren las ventanas"),
            S("tel-29", 0.20, "lacrimógenas y perdigones cerca del metro", 30, -20),
        ),
    ),
    Scene(
        "autopista-la-guaira", "checkpoint", "Autopista Caracas–La Guaira, bajada al aeropuerto", -66.9700, 10.5980,
        (
            S("tel-30", 0.55, "GNB revisando maletas, piden papeles del carro"),
            S("tel-31", 0.40, "revisan pasaportes a los que van al aeropuerto", 35, 10),
            S("tel-32", 0.30, "preguntan cuántos dólares lleva uno en efectivo", -25, -5),
            S("tel-33", 0.15, "bajan a todos de los taxis", 10, -30),
            S("tel-34", 0.05, "sigue la alcabala, como 40 minutos de cola", -10, 20),
        ),
        still_there=("tel-35", "tel-01"),
    ),
    Scene(
        "aeropuerto-maiquetia", "checkpoint", "Aeropuerto de Maiquetía, entrada del terminal internacional",
        -66.9860, 10.6010,
        (S("tel-36", 0.25, "SEBIN en la entrada del terminal, revisan pasaportes y teléfonos"),),
        verify="Confirmado con personal de la aerolínea.",
    ),
    Scene(
        "catia-la-mar", "roadblock", "Av. La Atlántida, Catia La Mar", -67.0300, 10.6035,
        (S("tel-37", 0.15, "vecinos trancaron la avenida por falta de agua"),),
    ),
    # --- Táchira: San Antonio, Ureña, San Cristóbal, Troncal 1 and Troncal 5 ---------------------------
    Scene(
        "peracal", "checkpoint", "Troncal 1, punto de control de Peracal", -72.4180, 7.8330,
        (
            S("tel-40", 0.60, "GNB, Migración y PNB revisando todo, dos horas de cola"),
            S("tel-41", 0.45, "piden la cédula y el motivo del viaje", 30, 20),
            S("tel-42", 0.35, "bajan a todos del autobús y revisan maletas una por una", -20, 35),
            S("tel-43", 0.25, "la cola llega hasta el peaje viejo", 45, -10),
            S("tel-40", 0.15, "sigue igual", 10, 5),
            S("tel-44", 0.05, "ahora también el Ejército", -35, -20),
        ),
        still_there=("tel-45", "tel-46"),
    ),
    Scene(
        "san-antonio-entrada", "checkpoint", "Entrada de San Antonio del Táchira", -72.4395, 7.8190,
        (
            S("tel-47", 0.30, "GNB a la entrada de San Antonio revisando cédulas"),
            S("tel-48", 0.10, "alcabala gnb entrada san antonio", 20, 30, typed=True),
        ),
    ),
    Scene(
        "puente-simon-bolivar", "roadblock", "Puente Internacional Simón Bolívar", -72.4506, 7.8178,
        (
            S("tel-49", 0.35, "el puente cerrado para carros, solo pasan peatones"),
            S("tel-50", 0.25, "pusieron contenedores atravesados del lado venezolano", 25, -15),
            S("tel-51", 0.10, "sigue cerrado para vehículos", -15, 10),
        ),
        verify="Cierre confirmado por periodistas en el puente.",
    ),
    Scene(
        "rio-tachira-trocha", "militia", "Trocha del río Táchira, San Antonio", -72.4500, 7.8090,
        (
            S("tel-52", 0.40, "hombres armados cobrando en la trocha, piden pesos para pasar"),
            S("tel-53", 0.20, "gente con armas largas en la orilla del río", -30, 25),
        ),
    ),
    Scene(
        "urena-puente-santander", "checkpoint", "Ureña, vía al puente Francisco de Paula Santander",
        -72.4470, 7.9210,
        (
            S("tel-54", 0.40, "Ejército revisando en la vía al puente, piden factura de la mercancía"),
            S("tel-55", 0.25, "quitan mercancía a los que no tienen factura", 30, 15),
            S("tel-56", 0.10, "ahí siguen", -15, -20),
        ),
    ),
    Scene(
        "urena-terminal", "hazard", "Terminal de Ureña", -72.4380, 7.9130,
        (S("tel-57", 0.20, "se oyeron disparos cerca del terminal"),),
    ),
    Scene(
        "capacho", "checkpoint", "Troncal 1, punto de control de Capacho", -72.3120, 7.8250,
        (
            S("tel-58", 0.45, "PNB en Capacho, revisando a los que bajan a la frontera"),
            S("tel-59", 0.30, "piden papeles del carro", 20, -25),
        ),
        gone=("tel-60",),
    ),
    Scene(
        "puente-real", "checkpoint", "Elevado de Puente Real, San Cristóbal", -72.2330, 7.7790,
        (
            S("tel-61", 0.30, "Politáchira en el elevado, un solo canal"),
            S("tel-62", 0.15, "revisando maleteros hacia San Antonio", -25, 15),
        ),
    ),
    Scene(
        "san-cristobal-protesta", "roadblock", "Av. 19 de Abril, San Cristóbal", -72.2240, 7.7700,
        (
            S("tel-63", 0.20, "vecinos trancaron la avenida con cauchos por falta de gas"),
            S("tel-64", 0.10, "sigue trancada, los carros se devuelven", 30, 30),
        ),
    ),
    Scene(
        "troncal5-san-josecito", "checkpoint", "Troncal 5, San Josecito", -72.2180, 7.6620,
        (
            S("tel-65", 0.35, "GNB en la salida hacia el llano, piden guía a los camiones"),
            S("tel-66", 0.20, "revisan autobuses que vienen de Barinas", -20, -30),
        ),
    ),
    Scene(
        "troncal5-chururu", "roadblock", "Troncal 5, puente Chururú", -71.9850, 7.5450,
        (
            S("tel-67", 0.40, "derrumbe tapó la vía, paso cerrado, gandolas paradas"),
            S("tel-68", 0.25, "siguen con la máquina, no dejan pasar", 35, 0),
        ),
    ),
    Scene(
        "el-pinal", "militia", "San Rafael del Piñal", -71.9590, 7.5300,
        (
            S("tel-69", 0.50, "hombres con brazaletes y fusiles pidiendo documentos en la vía"),
            S("tel-70", 0.25, "dicen que son de la guerrilla, paran a los carros particulares", 40, -20),
        ),
    ),
    Scene(
        "la-fria", "checkpoint", "Troncal 1, La Fría", -72.2480, 8.2130,
        # Seen long ago and never confirmed: it has already expired, as most of the map eventually does.
        (S("tel-71", 1.20, "GNB en la entrada de La Fría"),),
    ),
    # --- Apure ---------------------------------------------------------------------------------------
    Scene(
        "guasdualito-salida", "militia", "Guasdualito, salida hacia El Nula", -70.7450, 7.2450,
        (
            S("tel-72", 0.55, "guerrilleros revisando carros a la salida del pueblo"),
            S("tel-73", 0.35, "piden cédula y preguntan para dónde va uno", 25, 30),
            S("tel-74", 0.15, "siguen ahí, como diez con fusiles", -30, 10),
        ),
    ),
    Scene(
        "guasdualito-gnb", "checkpoint", "Guasdualito, alcabala de la GNB", -70.7150, 7.2380,
        (
            S("tel-75", 0.30, "GNB revisando a todos los que entran"),
            S("tel-76", 0.10, "piden permiso de circulación", 15, -20),
        ),
    ),
    Scene(
        "guasdualito-afueras", "hazard", "Afueras de Guasdualito", -70.7600, 7.2300,
        (
            S("tel-77", 0.45, "enfrentamientos entre militares y un grupo armado"),
            S("tel-78", 0.30, "explosiones y disparos, no vayan para allá", -40, -30),
        ),
    ),
    # --- Zulia ----------------------------------------------------------------------------------------
    Scene(
        "puente-lago", "checkpoint", "Puente sobre el Lago de Maracaibo", -71.5761, 10.5742,
        (
            S("tel-79", 0.45, "GNB en el puente, revisan carro por carro"),
            S("tel-80", 0.30, "casi una hora de cola para cruzar", 40, -10),
            S("tel-81", 0.20, "piden la guía de la mercancía a los camiones", -30, 15),
            S("tel-82", 0.05, "sigue la alcabala", 20, 5),
        ),
    ),
    Scene(
        "santa-rita", "checkpoint", "Santa Rita, bajando del puente", -71.5110, 10.5364,
        (S("tel-83", 0.20, "policía municipal parando motos"),),
    ),
    Scene(
        "maracaibo-la-limpia", "roadblock", "Av. La Limpia, Maracaibo", -71.6550, 10.6640,
        (
            S("tel-84", 0.30, "trancazo en La Limpia por los apagones, cauchos quemados"),
            S("tel-85", 0.15, "sigue cerrada, la gente protestando", -25, 20),
        ),
    ),
    Scene(
        "la-concepcion", "checkpoint", "La Concepción, vía a Perijá", -71.8380, 10.6190,
        (
            S("tel-86", 0.40, "Ejército revisando en la entrada de La Concepción"),
            S("tel-87", 0.20, "revisan a los que vienen de la frontera", 30, 20),
        ),
    ),
    Scene(
        "san-francisco", "hazard", "San Francisco, entrada desde el puente", -71.7036, 10.5536,
        (S("tel-88", 0.25, "están atracando a los carros en el semáforo"),),
    ),
)
# fmt: on


def client_id(round_number: int, scene: Scene, index: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"round-{round_number}/{scene.name}/{index}")


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return lon + east_m / (111_320 * math.cos(math.radians(lat))), lat + north_m / 111_320


class Command(BaseCommand):
    help = (
        "Load a living demo scenario (Caracas, the western border, Maracaibo) through the services. "
        "Running it again adds nothing; after an hour it adds a fresh round so that the map is live again."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        self.created = 0
        round_number = self.find_round(now)
        incident_ids: set[int] = set()
        reports = 0
        for scene in SCENES:
            processed, created = [], False
            for index in range(len(scene.sightings)):
                report, was_created = self.submit(round_number, scene, index, now)
                created = created or was_created
                processed.append(services.report_process(report_id=report.pk) or report)
            reports += len(processed)
            incident_ids.update(r.incident_id for r in processed if r.incident_id is not None)
            # Votes and verification belong to the run that brought the scene's reports: a second run
            # of the same round changes nothing.
            if created and processed[-1].incident is not None:
                self.follow_up(scene, processed[-1].incident)

        public = selectors.incidents_public().filter(pk__in=incident_ids).count()
        self.stdout.write(
            f"Demo round {round_number}: {reports} reports ({self.created} new), {len(incident_ids)} incidents, "
            f"{public} on the public map under the {conf.publish_policy()} policy."
        )

    def find_round(self, now: datetime) -> int:
        """The round to (re)submit: the latest one while it is younger than ROUND_LENGTH, else the next."""
        round_number = 0
        while True:
            anchor, created = self.submit(round_number, SCENES[0], 0, now)
            if created or anchor.received_at > now - ROUND_LENGTH:
                return round_number
            round_number += 1

    def submit(self, round_number: int, scene: Scene, index: int, now: datetime) -> tuple[Report, bool]:
        sighting = scene.sightings[index]
        ttl = conf.kind_settings(scene.kind).ttl
        # Stay inside the accepted window whatever the TTL and REPORT_MAX_AGE_HOURS are set to.
        age = min(ttl * sighting.ago, conf.report_max_age() - timedelta(minutes=10))
        lon, lat = offset(scene.lon, scene.lat, sighting.east_m, sighting.north_m)
        location: dict = {"point": Point(lon, lat, srid=4326), "channel": "web"}
        if sighting.typed:
            location = {"place_text": f"{lat:.5f}, {lon:.5f}", "channel": "sms"}
        else:
            location["place_text"] = scene.place
            location["accuracy_m"] = 15.0 + 10 * (index % 3)
        report, created = services.report_submit(
            client_id=client_id(round_number, scene, index),
            kind=scene.kind,
            observed_at=now - age,
            description=sighting.text,
            device=DEVICE_PREFIX + sighting.device,
            source=demo_source(sighting.device),
            now=now,
            **location,
        )
        self.created += created
        return report, created

    def follow_up(self, scene: Scene, incident: Incident) -> None:
        if scene.verify:
            # There is no service for the public note yet: the reason goes to the audit trail only.
            try:
                services.incident_transition(incident=incident, status=Status.VERIFIED, reason=scene.verify)
            except InvalidTransition:
                pass  # a later round joined an incident that is already verified, or it has ended
        voters = [(device, True) for device in scene.still_there] + [(device, False) for device in scene.gone]
        if scene.cleared:
            voters += [(f"{scene.name}-gone-{n}", False) for n in range(conf.gone_sources_to_clear())]
        for device, still_there in voters:
            try:
                services.incident_vote(
                    incident_id=incident.pk,
                    device=DEVICE_PREFIX + device,
                    still_there=still_there,
                    source=demo_source(device),
                )
            except DomainError as exc:
                if exc.code != "incident_ended":
                    raise
