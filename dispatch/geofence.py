"""Great-circle distances and a fast "who is within r km of here" query.

The index keeps technicians sorted by latitude: a radius query first cuts the latitude band
with two binary searches, then checks longitude and the exact haversine distance only inside
it, all in numpy. 10,000 positions answer in well under a millisecond.
"""

import math
from collections.abc import Sequence

import numpy as np

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEG_LAT = math.pi * EARTH_RADIUS_KM / 180.0


def check_coordinates(lat: float, lon: float) -> None:
    """Raise ValueError unless lat/lon are a real point on Earth."""
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        raise ValueError("latitude and longitude must be numbers")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("latitude and longitude must be finite")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside -180..180")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_many(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distances in km from one point to arrays of points (degrees)."""
    p1 = math.radians(lat)
    p2 = np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons) - math.radians(lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


class GeoIndex:
    """Points (e.g. technicians) sorted by latitude for radius queries."""

    def __init__(self, lats: Sequence[float], lons: Sequence[float]) -> None:
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        self._order = np.argsort(lat, kind="stable")
        self._lat = lat[self._order]
        self._lon = lon[self._order]

    def __len__(self) -> int:
        return len(self._lat)

    def within(self, lat: float, lon: float, radius_km: float) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the input order, distances km) of the points within radius_km,
        nearest first."""
        dlat = radius_km / KM_PER_DEG_LAT
        lo = int(np.searchsorted(self._lat, lat - dlat, side="left"))
        hi = int(np.searchsorted(self._lat, lat + dlat, side="right"))
        if lo >= hi:
            return np.empty(0, dtype=np.int64), np.empty(0)
        band_lon = self._lon[lo:hi]
        # Longitude degrees shrink with latitude; widen the box by the band's worst case.
        cos_lat = max(math.cos(math.radians(min(89.9, abs(lat) + dlat))), 1e-6)
        dlon = radius_km / (KM_PER_DEG_LAT * cos_lat)
        diff = np.abs(band_lon - lon)
        diff = np.minimum(diff, 360.0 - diff)  # across the antimeridian
        box = np.nonzero(diff <= dlon)[0]
        dist = haversine_many(lat, lon, self._lat[lo:hi][box], band_lon[box])
        keep = dist <= radius_km
        positions = self._order[lo:hi][box[keep]]
        dist = dist[keep]
        nearest = np.argsort(dist, kind="stable")
        return positions[nearest], dist[nearest]
