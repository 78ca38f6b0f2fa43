"""List the record batches of partition logs as a client left them on disk.

    python3 batches.py PARTITION_DIR...

prints one line per batch, "partition base_offset codec records producer_id",
read from the segments (*.log, in base-offset order) of each Kafka-layout
partition directory (TOPIC-N). Strata stores batches byte for byte as
produced, so this shows which codec a client really used and whether its
batches are idempotent. Standard library only; any Python 3 runs it.
"""

import glob
import os
import struct
import sys

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
# base offset (q), batch length (i), leader epoch (i), magic (b), crc (I),
# attributes (h), last offset delta (i), base and max timestamps (qq),
# producer id (q), producer epoch (h), base sequence (i), record count (i)
HEADER = struct.Struct(">qiibIhiqqqhii")


def batches(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + HEADER.size <= len(data):
        base, length, _, magic, _, attrs, _, _, _, pid, _, _, count = HEADER.unpack_from(data, pos)
        if length <= 0:  # zero fill past the last batch
            break
        if magic != 2:
            raise SystemExit(f"{path}@{pos}: magic {magic}, want 2")
        yield base, CODECS.get(attrs & 7, f"codec{attrs & 7}"), count, pid
        pos += 12 + length


def main():
    for d in sys.argv[1:]:
        part = d.rstrip("/").rsplit("-", 1)[1]
        for seg in sorted(glob.glob(os.path.join(d, "*.log"))):
            for base, codec, count, pid in batches(seg):
                print(part, base, codec, count, pid)


if __name__ == "__main__":
    main()
