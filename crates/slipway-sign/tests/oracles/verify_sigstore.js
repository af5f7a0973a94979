// Verifies a key-based Sigstore bundle with @sigstore/verify, offline.
//
// Usage: node verify_sigstore.js BUNDLE_JSON PUBLIC_KEY_PEM KEY_ID [ARTIFACT]
// (NODE_PATH points at the node_modules holding @sigstore/verify.)
//
// The bundle is read with @sigstore/bundle's bundleFromJSON (which validates its shape), turned
// into a signed entity with toSignedEntity, and verified by a Verifier whose trust material has
// no CAs, logs or TSAs and one public key, registered under KEY_ID: the bundle's
// `publicKey.hint` must name it. Thresholds for tlog entries, SCTs and timestamps are 0, as for
// any key-based bundle without a log. The Verifier then checks the signature: over ARTIFACT for
// a messageSignature, over the DSSE PAE for a dsseEnvelope. Exit 0 when verified, 1 otherwise.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

const [bundlePath, pemPath, keyId, artifactPath] = process.argv.slice(2);
try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const rawBytes = crypto
    .createPublicKey(fs.readFileSync(pemPath, 'utf8'))
    .export({ type: 'spki', format: 'der' });
  const trust = toTrustMaterial(
    { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
    { [keyId]: { rawBytes } },
  );
  const artifact = artifactPath === undefined ? undefined : fs.readFileSync(artifactPath);
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle, artifact));
  console.log(`verified: ${bundle.content.$case} with key ${keyId}`);
} catch (error) {
  console.log(`not verified: ${error.code || error.name}: ${error.message}`);
  process.exit(1);
}
