import base64, hashlib, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
def canon(o): return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
def done(bad, why): print(json.dumps({"ok": bad is None, "entries": (bad or seq + 1) - head["first_seq"], "first_bad": bad, "reason": why})); sys.exit(bad is not None)
lines = open(sys.argv[1], encoding="utf-8"); head = json.loads(next(lines))
keys = {k["key_id"]: serialization.load_pem_public_key(k["pem"].encode()) for k in head["keys"]}
for c in head["checkpoints"]:  # an unknown key id or a bad signature stops the script with an exception
    key, payload = keys[c["key_id"]], canon({"log": "slipway-audit", "count": c["count"], "head": c["head"], "at": c["at"]})
    key.verify(base64.b64decode(c["signature"]), payload, *([ec.ECDSA(hashes.SHA256())] if isinstance(key, ec.EllipticCurvePublicKey) else []))
marks, prev = {c["count"]: c["head"] for c in head["checkpoints"]}, head["prev"]; seq = last = head["first_seq"] - 1
if marks.pop(seq, prev) != prev: done(seq + 1, f"the checkpoint at entry {seq} does not vouch for the export's prev")
for seq, e in enumerate((json.loads(line) for line in lines if line.strip()), head["first_seq"]):
    if (e["seq"], e["prev"]) != (seq, prev): done(seq, f"entry {seq} is missing, out of order, or not linked to entry {seq - 1}")
    prev = hashlib.sha256(canon({f: e[f] for f in ("seq", "at", "actor", "action", "subject", "details", "prev")})).hexdigest()
    if prev != e["hash"]: done(seq, f"entry {seq} no longer matches its hash: it was edited")
    if marks.get(seq, prev) != prev: done(last + 1, f"a signed checkpoint disagrees at entry {seq}: entries from {last + 1} on were rewritten")
    if marks.pop(seq, None): last = seq
if marks: done(seq + 1, f"the log ends at entry {seq}, but a signed checkpoint counts {max(marks)} entries: cut off")
done(None, None)
