# SLW-P006: every base image is pinned by digest.
package slipway.builtin.base_images_pinned

import rego.v1

meta := {
	"id": "SLW-P006",
	"name": "base-images-pinned",
	"title": "Every base image is pinned by digest",
	"points": ["release", "promote"],
	"remediation": "Pin the image by digest where it is named: `FROM debian:12@sha256:<digest>` (`docker buildx imagetools inspect <image>` prints the digest).",
}

deny contains msg if {
	some image in input.base_images
	image.pinned != true
	msg := sprintf("%s:%d: the base image %s is not pinned by digest", [image.file, image.line, image.reference])
}
