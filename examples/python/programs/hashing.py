# Hashing strings: digests computed in tasks (starmap over tuples, imap in order), and an HMAC
# of each message that comes back as bytes.
import hashlib

from hecaton import Pool
from tasks import blake, fingerprint, signature

DOCUMENTS = [
    ("empty", ""),
    ("ascii", "The quick brown fox jumps over the lazy dog"),
    ("unicode", "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich ✓"),
    ("long", "lorem ipsum " * 1000),
]

if __name__ == '__main__':
    with Pool(2) as pool:
        for name, size, sha, md5 in pool.starmap(fingerprint, DOCUMENTS):
            print(f"{name:<8}{size:>6}  sha256 {sha[:16]}…  md5 {md5}")
        for digest in pool.imap(blake, (text for _, text in DOCUMENTS)):
            print("blake2b", digest)
        tags = pool.starmap(signature, [("s3cret", text) for _, text in DOCUMENTS])
    print(tags[1], [tag.hex() for tag in tags])
    mine = hashlib.sha256(DOCUMENTS[1][1].encode()).hexdigest()
    print("the caller's sha256 agrees:", mine.startswith("d7a8fbb3"))
