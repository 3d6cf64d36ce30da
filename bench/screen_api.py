"""Latency of one screening API call (issue 6, node), with a peer in the same run.

Caravan: `POST /api/v1/screen/party` on a running node whose store holds OFAC SDN and the
UN list, one request at a time over a keep-alive connection (the first 100 calls, which
build the index, are a warm-up and not counted). Peer: rapidfuzz `process.extract` with
WRatio, limit 10, over the same list names (ASCII-folded, lower case), in this process,
one query at a time: what a script-level screening call costs without HTTP, audit or
explanations. Queries: seeded, half list names perturbed (a letter dropped or doubled,
tokens reordered), half innocent names built from common given and family names.

Usage: python bench/screen_api.py --port P --token T --requests N --data DIR
(rapidfuzz from PyPI in a venv; never in the product)
"""

import argparse
import csv
import http.client
import json
import random
import statistics
import time
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from rapidfuzz import fuzz, process

GIVEN = ["John", "Maria", "Ahmed", "Olga", "Wei", "Carlos", "Aziz", "Dilnoza", "Sergei", "Fatima",
         "James", "Anna", "Rustam", "Nodira", "Li", "Pedro", "Timur", "Elena", "Omar", "Gulnora"]
FAMILY = ["Smith", "Garcia", "Ivanova", "Chen", "Karimov", "Rahimova", "Petrov", "Lopez",
          "Tashkentov", "Miller", "Yuldasheva", "Novak", "Haddad", "Sato", "Brown", "Usmonov",
          "Kowalski", "Silva", "Nazarova", "Becker"]
COMPANY = ["Trading", "Logistics", "Textile", "Holding", "Export", "Agro", "Cotton", "Freight"]
FORMS = ["LLC", "Inc", "OOO", "MChJ", "GmbH", "Ltd"]


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def list_names(data: Path) -> list[str]:
    names = []
    with open(data / "sdn.csv", encoding="utf-8", errors="replace") as f:
        names += [row[1] for row in csv.reader(f) if len(row) > 1 and row[1] != "-0- "]
    with open(data / "alt.csv", encoding="utf-8", errors="replace") as f:
        names += [row[3] for row in csv.reader(f) if len(row) > 3 and row[3] != "-0- "]
    root = ET.parse(data / "un_consolidated.xml").getroot()
    for person in root.iter("INDIVIDUAL"):
        parts = [person.findtext(t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
        names.append(" ".join(p for p in parts if p))
        names += [a.findtext("ALIAS_NAME") or "" for a in person.iter("INDIVIDUAL_ALIAS")]
    for entity in root.iter("ENTITY"):
        names.append(entity.findtext("FIRST_NAME") or "")
        names += [a.findtext("ALIAS_NAME") or "" for a in entity.iter("ENTITY_ALIAS")]
    return [n.strip() for n in names if n and n.strip()]


def perturb(name: str, rng: random.Random) -> str:
    tokens = name.replace(",", " ").split()
    if len(tokens) > 1 and rng.random() < 0.4:
        rng.shuffle(tokens)
    text = " ".join(tokens)
    if len(text) > 4:
        i = rng.randrange(1, len(text) - 1)
        text = text[:i] + (text[i] * 2 if rng.random() < 0.5 else "") + text[i + 1:]
    return text


def queries(names: list[str], n: int) -> list[str]:
    rng = random.Random(42)
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append(perturb(rng.choice(names), rng))
        elif rng.random() < 0.6:
            out.append(f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}")
        else:
            out.append(f"{rng.choice(FAMILY)} {rng.choice(COMPANY)} {rng.choice(FORMS)}")
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    names = list_names(args.data)
    qs = queries(names, args.requests + 100)

    conn = None
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
            conn.request("GET", "/readyz")
            if conn.getresponse().read() and True:
                break
        except OSError:
            time.sleep(0.1)
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
    latencies, hits, statuses = [], 0, {}
    for i, q in enumerate(qs):
        body = json.dumps({"name": q})
        start = time.perf_counter()
        conn.request("POST", "/api/v1/screen/party", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - start
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if i >= 100:
            latencies.append(elapsed * 1000)
            if response.status == 200:
                hits += len(json.loads(data)["hits"])
    print(f"list names: {len(names)}; queries: {len(latencies)} timed (+100 warm-up); statuses {statuses}")
    print(f"caravan POST /api/v1/screen/party: p50 {pct(latencies, 0.5):.2f} ms, p99 {pct(latencies, 0.99):.2f} ms, "
          f"mean {statistics.mean(latencies):.2f} ms, max {max(latencies):.2f} ms; {hits} hits returned")

    choices = [fold(n) for n in names]
    peer = []
    for q in qs[100:]:
        start = time.perf_counter()
        process.extract(fold(q), choices, scorer=fuzz.WRatio, limit=10)
        peer.append((time.perf_counter() - start) * 1000)
    print(f"rapidfuzz process.extract WRatio limit 10 (in-process, 1 thread): p50 {pct(peer, 0.5):.2f} ms, "
          f"p99 {pct(peer, 0.99):.2f} ms, mean {statistics.mean(peer):.2f} ms")
    print(f"ratio peer/caravan: p50 {pct(peer, 0.5) / pct(latencies, 0.5):.1f}x, p99 {pct(peer, 0.99) / pct(latencies, 0.99):.1f}x")


if __name__ == "__main__":
    main()
