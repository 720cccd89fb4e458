"""What the public sees of an incident, defined once (architecture §10).

`status` holds the effective-status rule and the publication policy; `fields` the ordered table of public
properties, from which `features` (GeoJSON dicts and text), `sql` (the same text built by PostGIS), `stored`
(that text kept on each row by a trigger), `columns` (the map's compact format), `csv` and `schema` (the
OpenAPI description) are all generated; `changes` is the changes feed with its tombstones.
"""
