//! Push and pull against real registries: Debian's distribution 2.8 (referrers tag schema) and
//! ferro-oci-server (OCI 1.1 referrers API), checked by an independent client, skopeo.

mod api;
mod distribution;
mod local;
mod support;
