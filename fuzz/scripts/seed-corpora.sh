#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ with seeds: the captures in fixtures/ (and
# ../shared/captures/ when that directory exists), pcapng copies of the
# classic ones (editcap, when installed), and for `decode` every frame of
# them, one file each, prefixed with the byte that picks its link type.
# Corpora are not committed (fuzz/.gitignore); re-running adds, never removes.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
corpus=${1:-$here/corpus}
mkdir -p "$corpus"/{classic,pcapng,decode,pipeline}

sources=("$root"/fixtures/*.pcap "$root"/fixtures/*.pcapng)
# Compressed captures go to the pipeline as they are (it reads them as `read -` does).
cp "$root"/fixtures/compressed/* "$corpus/pipeline/" 2>/dev/null || true
shared="$root/../shared/captures"
[ -d "$shared" ] || shared=/work/shared/captures
if [ -d "$shared" ]; then
  sources+=("$shared"/*.pcap "$shared"/*.pcapng)
fi

for f in "${sources[@]}"; do
  [ -f "$f" ] || continue
  name=$(basename "$f")
  case "$(head -c 4 "$f" | od -An -tx1 | tr -d ' ')" in
    0a0d0d0a)
      cp "$f" "$corpus/pcapng/$name"
      cp "$f" "$corpus/pipeline/$name" ;;
    d4c3b2a1|a1b2c3d4|4d3cb2a1|a1b23c4d)
      cp "$f" "$corpus/classic/$name"
      cp "$f" "$corpus/pipeline/$name"
      # The same packets as pcapng: the pcapng reader's seeds are few otherwise.
      if command -v editcap >/dev/null 2>&1; then
        editcap -F pcapng "$f" "$corpus/pcapng/$name.pcapng" 2>/dev/null \
          && cp "$corpus/pcapng/$name.pcapng" "$corpus/pipeline/" \
          || rm -f "$corpus/pcapng/$name.pcapng"
      fi ;;
    *) ;; # not a capture: the readers' own corpora find those
  esac
done

# decode: one file per frame, first byte = link kind (see synack::fuzzing::decode_frame).
python3 - "$corpus/decode" "$corpus/classic"/* <<'PY'
import struct, sys, os
out = sys.argv[1]
# The index of each DLT in synack_core's LinkKind::DLTS.
dlts = [1, 113, 276, 0, 108, 101, 12, 14, 228, 229, 9, 50, 104, 105, 127, 117, 239, 242]
pick = {d: i for i, d in enumerate(dlts)}
for path in sys.argv[2:]:
    b = open(path, 'rb').read()
    if len(b) < 24:
        continue
    endian = {b'\xd4\xc3\xb2\xa1': '<', b'\x4d\x3c\xb2\xa1': '<',
              b'\xa1\xb2\xc3\xd4': '>', b'\xa1\xb2\x3c\x4d': '>'}.get(b[:4])
    if endian is None:
        continue
    link = struct.unpack(endian + 'I', b[20:24])[0] & 0x03ffffff
    if link not in pick:
        continue
    at, n = 24, 0
    while at + 16 <= len(b) and n < 200:
        caplen = struct.unpack(endian + 'I', b[at + 8:at + 12])[0]
        frame = b[at + 16:at + 16 + caplen]
        at += 16 + caplen
        n += 1
        name = os.path.join(out, '%s-%d' % (os.path.basename(path), n))
        with open(name, 'wb') as f:
            f.write(bytes([pick[link]]) + frame)
PY

for t in classic pcapng decode pipeline; do
  echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
