"""Realistic messages, as people send them by SMS or Telegram, with what a reader understands of them.

Each case: (text, kind, place, minutes_ago). `place` is (lat, lon) when the message carries coordinates or a
map link; a place name when it names one (the understood place text must geocode to the same place, or,
for a place the gazetteer does not know, contain the name); None when it names no place (the reply asks).
"""

from __future__ import annotations

NOW = 0
CASES: list[tuple[str, str | None, tuple[float, float] | str | None, int | None]] = [
    # Checkpoints, Spanish
    ("Alcabala de la GNB en la entrada de Petare hace 20 min", "checkpoint", "Petare", 20),
    ("alcabala en chacao", "checkpoint", "Chacao", None),
    ("alcavala en los teques, estan revisando telefonos", "checkpoint", "Los Teques", None),
    ("Alcabla saliendo de Maracay", "checkpoint", "Maracay", None),
    ("punto de control de la PNB en Tocuyito hace 10 minutos", "checkpoint", "Tocuyito", 10),
    ("Retén en Charallave, piden cédula", "checkpoint", "Charallave", None),
    ("reten militar llegando a Barquisimeto hace una hora", "checkpoint", "Barquisimeto", 60),
    ("MATRACA en la autopista llegando a Valencia!!! cobrando 20$", "checkpoint", "Valencia", None),
    ("Matraqueando en la Cota 905 la guardia", "checkpoint", "Cota 905", None),
    ("GNB parando carros en Guarenas", "checkpoint", "Guarenas", None),
    ("sebin en la salida de baruta revisando celulares", "checkpoint", "Baruta", None),
    ("FAES en Santa Teresa del Tuy hace 5 min", "checkpoint", "Santa Teresa del Tuy", 5),
    ("Dgcim montó un punto de control cerca de Ocumare del Tuy", "checkpoint", "Ocumare del Tuy", None),
    ("policia requisando en la entrada de Higuerote", "checkpoint", "Higuerote", None),
    ("Alcabalaaa en Puerto Cabello ahorita", "checkpoint", "Puerto Cabello", 0),
    ("Hay una alcabala", "checkpoint", None, None),
    ("control de la guardia por San Antonio del Tachira", "checkpoint", "San Antonio del Tachira", None),
    ("alcabala 10.4806, -66.9036", "checkpoint", (10.4806, -66.9036), None),
    ("alcabala aqui https://maps.google.com/?q=10.4961,-66.8535", "checkpoint", (10.4961, -66.8535), None),
    ("retén https://www.google.com/maps/@10.4883,-66.8792,17z", "checkpoint", (10.4883, -66.8792), None),
    ("alcabala https://www.openstreetmap.org/#map=17/10.47679/-66.80786", "checkpoint", (10.47679, -66.80786), None),
    ("alcabala geo:10.2497,-67.5947", "checkpoint", (10.2497, -67.5947), None),
    ("Punto de control GNB 10.6016 -66.9329 hace 15 min", "checkpoint", (10.6016, -66.9329), 15),
    ("alcabala en maturin hace 2 horas", "checkpoint", "Maturin", 120),
    ("reten en acarigua", "checkpoint", "Acarigua", None),
    ("matraka en guanare", "checkpoint", "Guanare", None),
    # Roadblocks, Spanish
    ("tranca en la via a La Guaira", "roadblock", "La Guaira", None),
    ("Barricada en Altamira, Caracas", "roadblock", "Caracas", None),
    ("barrikadas quemando cauchos en Cumaná", "roadblock", "Cumana", None),
    ("Guarimba en Merida hace media hora", "roadblock", "Merida", 30),
    ("cierre de vía en la panamericana km 20", "roadblock", "panamericana km 20", None),
    ("via cerrada en Coro por protesta", "roadblock", "Coro", None),
    ("trancaron la salida de Barinas", "roadblock", "Barinas", None),
    ("Tranca total en Puerto La Cruz", "roadblock", "Puerto La Cruz", None),
    ("guarimbas en el tigre", "roadblock", "El Tigre", None),
    ("cierre de la autopista en Barcelona hace 40 min", "roadblock", "Barcelona", 40),
    # Armed groups, Spanish
    ("colectivos armados en Catia", "militia", "Catia", None),
    ("Motorizados encapuchados por Chacao hace 10 min", "militia", "Chacao", 10),
    ("kolectivos en moto en Petare", "militia", "Petare", None),
    ("encapuchados armados en la entrada de Los Teques", "militia", "Los Teques", None),
    ("muchos motorisados en Maracaibo", "militia", "Maracaibo", None),
    ("paramilitares cerca de Ureña", "militia", "Ureña", None),
    ("colectibos en la plaza de Carúpano", "militia", "Carupano", None),
    # Shooting and clashes, Spanish
    ("tiroteo en petare sector jose felix ribas", "hazard", "Petare", None),
    ("Disparos en Ciudad Bolívar hace 5 minutos!!", "hazard", "Ciudad Bolivar", 5),
    ("plomo en el valle", "hazard", "el valle", None),
    ("hay plomo en Catia ahorita", "hazard", "Catia", 0),
    ("enfrentamiento entre colectivos y PNB en Caracas", "hazard", "Caracas", None),
    ("balacera en Maracay hace 1 hora", "hazard", "Maracay", 60),
    ("tirotéo en tucupita", "hazard", "Tucupita", None),
    ("disparando en la entrada de Valle de la Pascua", "hazard", "Valle de la Pascua", None),
    # English
    ("checkpoint near Chacao 20 minutes ago", "checkpoint", "Chacao", 20),
    ("Police checkpoint at the entrance of Petare", "checkpoint", "Petare", None),
    ("roadblock on the road to La Guaira, an hour ago", "roadblock", "La Guaira", 60),
    ("armed men on motorbikes in Maracay", "militia", "Maracay", None),
    ("shooting in Valencia 5 min ago", "hazard", "Valencia", 5),
    ("Soldiers checking phones at Guarenas", "checkpoint", "Guarenas", None),
    ("road closed in Merida, burning tyres", "roadblock", "Merida", None),
    ("checkpoint https://maps.google.com/maps?q=10.2425,-66.8572", "checkpoint", (10.2425, -66.8572), None),
    ("gunfire near Barquisimeto half an hour ago", "hazard", "Barquisimeto", 30),
    # Noise and things that say no kind or no place
    ("hola", None, None, None),
    ("gracias!!", None, None, None),
    ("quien es?", None, None, None),
    ("tiroteo", "hazard", None, None),
    ("colectivos hace 10 min", "militia", None, 10),
    ("Petare", None, "Petare", None),
]
