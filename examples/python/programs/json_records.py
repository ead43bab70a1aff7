# JSON records transformed: each raw line normalized by a task (imap keeps the order), then
# grouped and written back as JSON by the caller.
import json

from hecaton import Pool
from tasks import normalize

LINES = [
    '{"id": "7", "name": "  zoë   saldaña ", "email": " Zoe@Example.COM", "tags": ["Film", "film ", ""]}',
    '{"id": 12, "name": "José  Martí", "tags": ["poetry", "History"], "active": false}',
    '{"id": "3", "name": "ÅSA LARSSON", "email": "", "tags": []}',
    '{"id": 41, "name": "björk guðmundsdóttir", "email": "bjork@example.is", "active": 1}',
]

if __name__ == '__main__':
    with Pool(2) as pool:
        records = list(pool.imap(normalize, LINES, chunksize=2))
    for record in records:
        print(json.dumps(record, sort_keys=True, ensure_ascii=False))
    by_tag = {}
    for record in records:
        for tag in record["tags"]:
            by_tag.setdefault(tag, []).append(record["id"])
    print(json.dumps({"active": [r["id"] for r in records if r["active"]], "by_tag": by_tag},
                     sort_keys=True))
    print(records[0] == normalize(LINES[0]), type(records[2]["email"]).__name__)
