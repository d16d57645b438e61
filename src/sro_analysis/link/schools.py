"""Attribute incidents to the school where they happened (SPEC §3.6, schools).

The first method that succeeds wins, and every incident records how it was placed:

1. ``source_id``: the record already carries a school id the directory knows.
2. ``address``: the incident's hundred-block key (``'32XX W ADAMS ST'``) equals the key of exactly
   one school address. Two or more schools on that block are *ambiguous*: no pick.
3. ``polygon``: the point lies inside exactly one campus polygon (only when schools carry WKT).
4. ``distance``: the nearest school within ``radius_m`` (200 m), and only when the location
   description says the incident happened at a school. Two or more schools within the radius, or
   a school in a co-located group, are ambiguous: no pick, sent to review.
5. Otherwise ``none``. A location description that does not indicate a school is never placed by
   distance; when its point lies within the radius of a school the row becomes
   ``location_type = near_school_offsite`` (SPEC §3.6 rule 5).

Private-school locations ("SCHOOL, PRIVATE, BUILDING") are school locations, but the directory
lists public schools only, so they are never matched to one (a private school next door to a CPS
school would otherwise be counted as that CPS school).

Distances are haversine metres; the search uses a KD-tree on locally projected coordinates,
so a million incidents take seconds.

Example:
    >>> import pandas as pd
    >>> schools = pd.DataFrame({"school_id": ["1"], "address": ["3245 W ADAMS ST"],
    ...                         "lat": [41.879], "lon": [-87.707], "school_type": ["high"]})
    >>> incidents = pd.DataFrame({"incident_id": ["inc-a"], "location_type": ["school_building"],
    ...                           "block_address": ["32XX W ADAMS ST"], "lat": [None], "lon": [None]})
    >>> linked, audit = match_schools(incidents, schools)
    >>> linked[["school_id_occurrence", "school_match_method"]].values.tolist()
    [['1', 'address']]
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from sro_analysis.standardize import hundred_block_key

#: Location types that say the incident happened at a school (and so may be placed by address or distance).
SCHOOL_LOCATION_TYPES = ("school_building", "school_grounds")
#: Default search radius in metres (SPEC §3.6: allows for block-level displacement).
DEFAULT_RADIUS_M = 200.0
#: Location descriptions naming a private school: never matched to a public-school directory.
PRIVATE_PATTERN = r"\bPRIVATE\b"
EARTH_RADIUS_M = 6_371_008.8

#: Columns of the ``school_links`` audit, one row per incident.
AUDIT_COLUMNS = [
    "incident_id", "source_system", "school_year", "directory_year", "school_match_method",
    "school_id_occurrence", "school_match_distance_m", "school_match_ambiguous", "candidates",
    "n_candidates", "nearest_school_id", "nearest_distance_m", "location_type_before",
    "location_type", "reason",
]

#: Why an incident was not placed at a school (``reason`` column); placed rows have ``linked``.
REASONS = {
    "linked": "placed at a school",
    "unknown_source_school_id": "the record names a school id the directory does not know",
    "not_school_location": "the location description does not say the incident happened at a school",
    "private_school_location": "a private school: the directory lists public schools only",
    "no_location": "neither a block address nor a point to match",
    "no_school_match": "no school on that block and none within the radius",
    "ambiguous": "two or more schools fit (same block, same campus or within the radius): sent to review",
}


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres between arrays of WGS84 points.

    Example:
        >>> round(float(haversine_m(41.88, -87.63, 41.89, -87.63)))
        1112
    """
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype="float64")) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def block_keys(addresses: pd.Series) -> pd.Series:
    """Hundred-block keys of addresses, computed once per distinct value.

    The crimes portal writes the 0-99 block as ``0000X``; it becomes ``0XX`` first.

    Example:
        >>> block_keys(pd.Series(["032XX W ADAMS ST", "3245 West Adams Street", "0000X W ELM ST"])).tolist()
        ['32XX W ADAMS ST', '32XX W ADAMS ST', '0XX W ELM ST']
    """
    text = addresses.astype("string").str.upper().str.strip().str.replace(r"^0*0X\b", "0XX", regex=True)
    unique = text.dropna().unique()
    keys = {value: hundred_block_key(value) for value in unique}
    return text.map(keys).astype("string")


def _valid_point(lat: pd.Series, lon: pd.Series) -> np.ndarray:
    lat = pd.to_numeric(lat, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    lon = pd.to_numeric(lon, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    return ok & ~((lat == 0) & (lon == 0))


class _Directory:
    """One school directory (one school year) prepared for address, polygon and distance look-ups."""

    def __init__(self, schools: pd.DataFrame) -> None:
        schools = schools.sort_values("school_id", kind="stable").reset_index(drop=True)
        self.school_id = schools["school_id"].astype("string").to_numpy(dtype=object)
        group = schools["co_located_group"] if "co_located_group" in schools else pd.Series(pd.NA, index=schools.index)
        self.co_located = group.notna().to_numpy()
        keys = block_keys(schools["address"]) if "address" in schools else pd.Series(pd.NA, index=schools.index)
        by_key = pd.DataFrame({"key": keys, "school_id": self.school_id}).dropna().drop_duplicates()
        self.by_key = by_key.groupby("key")["school_id"].agg(lambda s: ";".join(sorted(s)))
        lat = schools["lat"] if "lat" in schools else pd.Series(np.nan, index=schools.index)
        lon = schools["lon"] if "lon" in schools else pd.Series(np.nan, index=schools.index)
        ok = _valid_point(lat, lon)
        self.point_rows = np.flatnonzero(ok)
        self.lat = pd.to_numeric(lat, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        self.lon = pd.to_numeric(lon, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        self.lat0 = float(np.mean(self.lat[ok])) if ok.any() else 0.0
        self.tree = cKDTree(self._project(self.lat[ok], self.lon[ok])) if ok.any() else None
        wkt = schools["campus_geometry_wkt"] if "campus_geometry_wkt" in schools else pd.Series(pd.NA, index=schools.index)
        self.polygons = [(i, _parse_wkt(w)) for i, w in enumerate(wkt) if isinstance(w, str) and w.strip()]

    def _project(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        # Equirectangular projection around the directory's mean latitude: metres, good to well
        # under a metre over a city; exact distances are recomputed with haversine below.
        x = np.radians(lon) * np.cos(np.radians(self.lat0)) * EARTH_RADIUS_M
        y = np.radians(lat) * EARTH_RADIUS_M
        return np.column_stack([x, y])

    def nearest_two(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Row index and haversine distance of the nearest and second-nearest school (-1 / inf if none)."""
        n = len(lat)
        first, second = np.full(n, -1), np.full(n, -1)
        d1, d2 = np.full(n, np.inf), np.full(n, np.inf)
        if self.tree is None or n == 0:
            return first, d1, second, d2
        k = min(2, len(self.point_rows))
        _, idx = self.tree.query(self._project(lat, lon), k=k)
        idx = idx.reshape(n, k)
        first = self.point_rows[idx[:, 0]]
        d1 = haversine_m(lat, lon, self.lat[first], self.lon[first])
        if k == 2:
            second = self.point_rows[idx[:, 1]]
            d2 = haversine_m(lat, lon, self.lat[second], self.lon[second])
        return first, d1, second, d2

    def within(self, lat: np.ndarray, lon: np.ndarray, radius_m: float) -> list[list[int]]:
        """Row indexes of every school within ``radius_m`` of each point (sorted by school id)."""
        if self.tree is None or len(lat) == 0:
            return [[] for _ in range(len(lat))]
        hits = self.tree.query_ball_point(self._project(lat, lon), r=radius_m * 1.01)
        out = []
        for i, found in enumerate(hits):
            rows = self.point_rows[np.asarray(found, dtype=int)]
            d = haversine_m(np.full(len(rows), lat[i]), np.full(len(rows), lon[i]), self.lat[rows], self.lon[rows])
            out.append(sorted(rows[d <= radius_m].tolist(), key=lambda r: self.school_id[r]))
        return out

    def containing(self, lat: np.ndarray, lon: np.ndarray) -> list[list[int]]:
        """Row indexes of every campus polygon containing each point."""
        out: list[list[int]] = [[] for _ in range(len(lat))]
        if not self.polygons or len(lat) == 0:
            return out
        points = np.column_stack([lon, lat])
        for row, paths in self.polygons:
            inside = np.zeros(len(lat), dtype=bool)
            for path in paths:
                inside |= path.contains_points(points)
            for i in np.flatnonzero(inside):
                out[i].append(row)
        return out


def _parse_wkt(text: str) -> list:
    """Outer rings of a WKT POLYGON / MULTIPOLYGON as matplotlib paths (lon, lat)."""
    from matplotlib.path import Path

    if not re.match(r"^\s*(MULTI)?POLYGON", text, flags=re.IGNORECASE):
        raise ValueError(f"campus_geometry_wkt must be a POLYGON or MULTIPOLYGON, got {text[:40]!r}")
    paths = []
    # Each "((" opens a polygon whose first ring is the outer boundary; holes are ignored, since a
    # courtyard is still the campus.
    for ring in re.findall(r"\(\(\s*([^()]+?)\s*\)", text):
        coords = np.array([[float(v) for v in pair.split()[:2]] for pair in ring.split(",")])
        paths.append(Path(coords))
    return paths


def _directory_for_years(incident_years: pd.Series, directory_years: list[str]) -> pd.Series:
    """Directory year to use for each incident: its own year, else the latest earlier one, else the earliest."""
    years = sorted(directory_years)
    out = pd.Series(pd.NA, index=incident_years.index, dtype="string")
    known = incident_years.notna()
    if not years:
        return out
    positions = np.searchsorted(np.array(years), incident_years[known].astype(str).to_numpy(), side="right") - 1
    out[known] = [years[max(p, 0)] for p in positions]
    return out


def _as_history(schools: pd.DataFrame, directory_history: pd.DataFrame | None) -> dict[str | None, pd.DataFrame]:
    """Directories by school year (``None``: the schools table itself, used for undated incidents)."""
    out: dict[str | None, pd.DataFrame] = {None: schools}
    if directory_history is None or len(directory_history) == 0:
        return out
    if "directory_year" not in directory_history:
        raise ValueError("directory_history needs a directory_year column (school year YYYY-YY of each directory)")
    known = set(schools["school_id"].astype(str))
    history = directory_history[directory_history["school_id"].astype(str).isin(known)]
    for year, part in history.groupby("directory_year", sort=True):
        out[str(year)] = part.drop_duplicates("school_id")
    return out


def match_schools(
    incidents: pd.DataFrame,
    schools: pd.DataFrame,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    directory_history: pd.DataFrame | None = None,
    private_pattern: str | None = PRIVATE_PATTERN,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Place each incident at a school; return (incidents, ``school_links`` audit).

    Sets ``school_id_occurrence``, ``school_match_method``, ``school_match_distance_m``,
    ``school_match_ambiguous`` and, for non-school locations within the radius of a school,
    ``location_type = near_school_offsite``. Does not mutate its inputs.

    Args:
        incidents: canonical incidents (``location_type``, ``block_address``, ``lat``/``lon``,
            ``school_year`` and ``location_raw`` are used where present).
        schools: canonical schools (``school_id``, ``address``, ``lat``/``lon``, optional
            ``campus_geometry_wkt`` and ``co_located_group``).
        radius_m: search radius of the distance method, in metres.
        directory_history: optional per-year directories (columns of ``schools`` plus
            ``directory_year``); each incident is matched against its school year's directory
            (else the latest earlier one, else the earliest).
        private_pattern: regex on ``location_raw`` marking private-school locations; ``None`` disables.

    Example:
        >>> import pandas as pd
        >>> schools = pd.DataFrame({"school_id": ["1", "2"], "address": ["10 W A ST", "90 W B ST"],
        ...                         "lat": [41.0, 41.0], "lon": [-87.0, -87.001]})
        >>> inc = pd.DataFrame({"incident_id": ["x"], "location_type": ["school_grounds"],
        ...                     "block_address": [None], "lat": [41.0], "lon": [-87.0005]})
        >>> match_schools(inc, schools)[0]["school_match_ambiguous"].tolist()
        [True]
    """
    if radius_m <= 0:
        raise ValueError(f"radius_m must be positive, got {radius_m}")
    out = incidents.copy()
    n = len(out)
    idx = out.index

    def column(name, default=pd.NA, dtype="string"):
        return out[name] if name in out else pd.Series(default, index=idx, dtype=dtype)

    location_type = column("location_type", "unknown").astype("string").fillna("unknown")
    location_before = location_type.copy()
    given_id = column("school_id_occurrence").astype("string")
    given_method = column("school_match_method", "none").astype("string").fillna("none")
    school_year_col = column("school_year").astype("string")
    location_raw = column("location_raw").astype("string")
    keys = block_keys(column("block_address"))
    lat = pd.to_numeric(column("lat", np.nan, "float64"), errors="coerce")
    lon = pd.to_numeric(column("lon", np.nan, "float64"), errors="coerce")
    has_point = _valid_point(lat, lon)
    lat_a = lat.to_numpy(dtype="float64", na_value=np.nan)
    lon_a = lon.to_numpy(dtype="float64", na_value=np.nan)

    method = np.full(n, "none", dtype=object)
    school = np.full(n, None, dtype=object)
    distance = np.full(n, np.nan)
    ambiguous_method = np.full(n, None, dtype=object)
    candidates = np.full(n, "", dtype=object)
    nearest_id = np.full(n, None, dtype=object)
    nearest_d = np.full(n, np.nan)
    reason = np.full(n, None, dtype=object)

    # 1. source id: a school id already in the record (kept as "manual" when a person set it).
    known = set(schools["school_id"].astype(str))
    has_id = given_id.notna().to_numpy()
    id_known = has_id & given_id.fillna("").isin(known).to_numpy()
    school[id_known] = given_id.to_numpy(dtype=object)[id_known]
    method[id_known] = np.where(given_method.to_numpy(dtype=object)[id_known] == "manual", "manual", "source_id")
    reason[has_id & ~id_known] = "unknown_source_school_id"

    is_school_location = location_type.isin(SCHOOL_LOCATION_TYPES).to_numpy()
    private = (location_raw.str.contains(private_pattern, case=False, regex=True).fillna(False).to_numpy(dtype=bool)
               if private_pattern else np.zeros(n, dtype=bool))
    eligible = is_school_location & ~private & ~id_known

    directories = _as_history(schools, directory_history)
    dated_years = [y for y in directories if y is not None]
    use_year = _directory_for_years(school_year_col, dated_years) if dated_years else pd.Series(pd.NA, index=idx, dtype="string")
    use_year_a = use_year.to_numpy(dtype=object, na_value=None)

    for year in directories:
        rows = np.flatnonzero(np.array([y == year for y in use_year_a], dtype=bool)) if year is not None \
            else np.flatnonzero(pd.isna(use_year).to_numpy())
        if len(rows) == 0 or len(directories[year]) == 0:
            continue  # no school to match against (a release without a school directory)
        directory = _Directory(directories[year])
        _match_in_directory(directory, rows, eligible, is_school_location, keys, has_point, lat_a, lon_a,
                            radius_m, method, school, distance, ambiguous_method, candidates,
                            nearest_id, nearest_d)

    matched = pd.notna(school)
    ambiguous = ~matched & pd.notna(ambiguous_method)
    method[ambiguous] = ambiguous_method[ambiguous]

    # Rule 5: a non-school location description near a school is "near_school_offsite", never placed.
    block_hits = keys.isin(pd.Index(_all_keys(directories))).to_numpy()
    near = (location_type == "other").to_numpy() & ~matched & (
        (has_point & (nearest_d <= radius_m)) | (~has_point & block_hits))
    location_type = location_type.mask(pd.Series(near, index=idx), "near_school_offsite")

    reason = np.where(matched, "linked", reason)
    undecided = pd.isna(reason)
    reason[undecided & ambiguous] = "ambiguous"
    reason[undecided & ~ambiguous & ~is_school_location] = "not_school_location"
    reason[undecided & ~ambiguous & is_school_location & private] = "private_school_location"
    no_location = keys.isna().to_numpy() & ~has_point
    still = pd.isna(reason)
    reason[still & no_location] = "no_location"
    reason[pd.isna(reason)] = "no_school_match"

    out["school_id_occurrence"] = pd.Series(school, index=idx, dtype="string")
    out["school_match_method"] = pd.Series(method, index=idx, dtype="string")
    out["school_match_distance_m"] = np.where(matched, distance, np.nan)
    out["school_match_ambiguous"] = pd.Series(ambiguous, index=idx, dtype="boolean")
    out["location_type"] = location_type.astype("string")

    audit = pd.DataFrame({
        "incident_id": column("incident_id").to_numpy(dtype=object),
        "source_system": column("source_system").to_numpy(dtype=object),
        "school_year": school_year_col.to_numpy(dtype=object),
        "directory_year": use_year_a,
        "school_match_method": method,
        "school_id_occurrence": school,
        "school_match_distance_m": out["school_match_distance_m"].to_numpy(),
        "school_match_ambiguous": ambiguous,
        "candidates": candidates,
        "n_candidates": [len(c.split(";")) if c else 0 for c in candidates],
        "nearest_school_id": nearest_id,
        "nearest_distance_m": nearest_d,
        "location_type_before": location_before.to_numpy(dtype=object),
        "location_type": location_type.to_numpy(dtype=object),
        "reason": reason,
    }, columns=AUDIT_COLUMNS)
    audit = audit.astype({c: "string" for c in AUDIT_COLUMNS
                          if c not in ("school_match_distance_m", "nearest_distance_m", "n_candidates",
                                       "school_match_ambiguous")})
    audit = audit.sort_values("incident_id", kind="stable").reset_index(drop=True)
    return out, audit


def _all_keys(directories: dict) -> list[str]:
    keys: set[str] = set()
    for frame in directories.values():
        if "address" in frame:
            keys |= set(block_keys(frame["address"]).dropna())
    return sorted(keys)


def _match_in_directory(directory: _Directory, rows, eligible, is_school_location, keys, has_point,
                        lat, lon, radius_m, method, school, distance, ambiguous_method, candidates,
                        nearest_id, nearest_d) -> None:
    """Run address, polygon and distance matching for the incident ``rows`` against one directory."""
    ids = directory.school_id

    # Nearest school for every row with a point: the distance method and the audit both use it.
    pts = rows[has_point[rows]]
    first, d1, second, d2 = directory.nearest_two(lat[pts], lon[pts])
    found = first >= 0
    nearest_id[pts[found]] = ids[first[found]]
    nearest_d[pts[found]] = d1[found]

    def record_ambiguous(where: np.ndarray, how: str, cands: list[str]) -> None:
        for i, c in zip(where, cands):
            if ambiguous_method[i] is None:
                ambiguous_method[i] = how
                candidates[i] = c

    # 2. address: the hundred-block key against the school addresses of this directory.
    todo = rows[eligible[rows] & pd.isna(school[rows])]
    hits = keys.iloc[todo].map(directory.by_key).to_numpy(dtype=object, na_value=None)
    for i, found_ids in zip(todo, hits):
        if found_ids is None:
            continue
        if ";" in found_ids:
            record_ambiguous([i], "address", [found_ids])
        else:
            school[i], method[i] = found_ids, "address"

    # 3. polygon: the point inside exactly one campus.
    todo = rows[eligible[rows] & has_point[rows] & pd.isna(school[rows])]
    if directory.polygons and len(todo):
        for i, inside in zip(todo, directory.containing(lat[todo], lon[todo])):
            if len(inside) == 1:
                school[i], method[i] = ids[inside[0]], "polygon"
            elif len(inside) > 1:
                record_ambiguous([i], "polygon", [";".join(sorted(ids[inside]))])

    # 4. distance: nearest school within the radius, school locations only; any second school
    # within the radius, or a co-located building, makes it ambiguous.
    todo_mask = eligible & has_point & pd.isna(school)
    in_rows = np.zeros(len(eligible), dtype=bool)
    in_rows[rows] = True
    pos = np.flatnonzero(todo_mask[pts] & in_rows[pts])
    if len(pos):
        close = found[pos] & (d1[pos] <= radius_m)
        unique = close & ~(d2[pos] <= radius_m) & ~directory.co_located[np.maximum(first[pos], 0)]
        for j in pos[unique]:
            i = pts[j]
            school[i], method[i], distance[i] = ids[first[j]], "distance", d1[j]
        crowded = pos[close & ~unique]
        if len(crowded):
            groups = directory.within(lat[pts[crowded]], lon[pts[crowded]], radius_m)
            record_ambiguous(pts[crowded], "distance", [";".join(sorted(ids[g])) for g in groups])

    # Distance to the placed school, where the record has a point (address / polygon matches too).
    placed = rows[pd.notna(school[rows]) & has_point[rows] & np.isnan(distance[rows])]
    if len(placed):
        pos_of = {school_id: r for r, school_id in enumerate(ids)}
        srows = np.array([pos_of.get(school[i], -1) for i in placed])
        ok = srows >= 0
        distance[placed[ok]] = haversine_m(lat[placed[ok]], lon[placed[ok]],
                                           directory.lat[srows[ok]], directory.lon[srows[ok]])
