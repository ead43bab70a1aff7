# Regex extraction from an access log: chunks parsed in any order (imap_unordered), merged into
# sorted results.
from hecaton import Pool
from tasks import parse_log

LOG = """\
10.0.0.1 - - [01/Mar/2024:10:00:01 +0000] "GET /index.html HTTP/1.1" 200 5120
10.0.0.2 - - [01/Mar/2024:10:00:02 +0000] "POST /api/orders HTTP/1.1" 502 0
192.168.1.20 - alice [01/Mar/2024:10:00:05 +0000] "GET /api/orders/17 HTTP/1.1" 200 312
not a log line at all
10.0.0.1 - - [01/Mar/2024:10:01:11 +0000] "GET /index.html HTTP/1.1" 304 -
172.16.4.9 - - [01/Mar/2024:10:02:45 +0000] "DELETE /api/orders/17 HTTP/1.1" 500 87
10.0.0.2 - - [01/Mar/2024:10:03:00 +0000] "GET /favicon.ico HTTP/1.1" 404 0
192.168.1.20 - alice [01/Mar/2024:10:04:30 +0000] "POST /api/orders HTTP/1.1" 201 64
"""

if __name__ == '__main__':
    lines = LOG.splitlines()
    chunks = ["\n".join(lines[i:i + 3]) for i in range(0, len(lines), 3)]
    ips, errors, hits = set(), [], {}
    with Pool(2) as pool:
        for chunk_ips, chunk_errors, chunk_hits in pool.imap_unordered(parse_log, chunks):
            ips |= chunk_ips
            errors += chunk_errors
            for path, n in chunk_hits.items():
                hits[path] = hits.get(path, 0) + n
    print("clients:", sorted(ips, key=lambda ip: tuple(map(int, ip.split(".")))))
    print("server errors:", sorted(errors))
    print("hits:", sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])))
