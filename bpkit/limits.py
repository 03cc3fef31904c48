"""Every bound bpkit puts on outside data, in one place.

Outside data (YAML files, chart archives, registry answers, indexes,
credential helpers) is hostile until read: each read has a size cap chosen
from the format it belongs to, so a lying or broken source costs bounded
memory and time. Modules import their bound from here, so the README's
table and the code cannot drift apart.
"""

from __future__ import annotations

#: Helm's loader refuses a chart file larger than this (`--max-file-size`,
#: 5 MiB by default; pkg/chart/loader DefaultChartLoadOptions), so a larger
#: YAML file could never be released anyway.
HELM_MAX_FILE_BYTES = 5 * 1024 * 1024

#: Helm's loader limit for all files of one chart together (they must stay
#: *below* it: Helm fails when the remaining budget reaches 0).
HELM_MAX_CHART_BYTES = 100 * 1024 * 1024

#: A document may use anchors, but its aliases may not add more nodes than
#: this when expanded ("billion laughs"). Only expansion counts: a large but
#: honest document (its size is bounded by HELM_MAX_FILE_BYTES) is not a bomb.
YAML_MAX_EXPANDED_NODES = 1_000_000

#: Nodes (scalars, sequences, mappings) one chart file's document may hold.
#: bpkit keeps every node's position (for file:line:col), about 330 bytes a
#: node: a 5 MiB file of 2.5 million one-digit items took 815 MB and 28 s.
#: The wrappers in the corpus hold at most 488; a big upstream values.yaml
#: (a few thousand lines) tens of thousands. This stays far above (~85 MB) and
#: is counted from the parser's events before anything is built.
YAML_MAX_NODES = 250_000

#: Deepest nesting of YAML collections accepted, checked before the C parser
#: sees a document (its recursive composer crashes the process on deep
#: nesting). go-yaml (Helm) stops at 10,000 flow levels or indents; bpkit's
#: walks of the data are recursive Python, so it stops far earlier, and far
#: above anything a chart needs (~20).
YAML_MAX_DEPTH = 200

#: Files and folders walked in one chart: stops symlink fan-out.
CHART_MAX_WALK_ENTRIES = 20_000

#: Go's archive/tar limit for PAX and GNU long-name records.
TAR_MAX_SPECIAL_RECORD = 1024 * 1024

#: The decompressed tar stream of one chart: the data limit plus room for
#: headers; a gzip bomb stops here.
TAR_MAX_STREAM = HELM_MAX_CHART_BYTES + 16 * 1024 * 1024

#: A docker-format credentials file (config.json, Helm's registry config,
#: containers auth.json): a few entries each; 1 MiB is thousands of registries.
CREDENTIAL_FILE_MAX_BYTES = 1024 * 1024

#: Seconds a credential helper (docker-credential-*) may take to answer.
CREDENTIAL_HELPER_SECONDS = 15.0

#: Seconds of retries per blueprint when a registry fails in a way worth
#: retrying (429, 502, 503, 504, dropped connections).
DEFAULT_RETRY_BUDGET = 30.0

#: Seconds to wait for a TCP/TLS connection, and for an answer. They also
#: make the *total* deadline of one request (CONNECT_TIMEOUT + READ_TIMEOUT,
#: plus MIN_UPLOAD_RATE time for its body): a server that trickles its
#: headers or body a byte at a time is cut off there, not kept alive.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0

#: Seconds one git command may take (a batched `cat-file` included).
GIT_SECONDS = 120.0

#: A Helm repository's index.yaml. Big public indexes are tens of MiB (bitnami's
#: was over 20 MiB before it was trimmed); 64 MiB leaves room for those while a
#: lying or endless server costs bounded memory: the body is refused as soon as
#: Content-Length (or the bytes read) pass this, without reading the rest.
HELM_INDEX_MAX_BYTES = 64 * 1024 * 1024

#: YAML nodes (after alias expansion) in one index.yaml. A large real index has
#: a few million; an alias bomb expands to billions and stops here, cheaply
#: (sizes are counted per shared node, never expanded).
HELM_INDEX_MAX_NODES = 20_000_000

#: One upstream chart archive: Helm loads no chart whose files total more
#: than HELM_MAX_CHART_BYTES, and the compressed archive is never larger.
UPSTREAM_MAX_ARCHIVE_BYTES = HELM_MAX_CHART_BYTES

#: An OCI manifest (the distribution spec lets registries refuse over 4 MiB).
OCI_MAX_MANIFEST_BYTES = 4 * 1024 * 1024

#: Seconds one download (an index or a chart) may take from the first byte
#: asked to the last one read, across slow-drip answers that each stay
#: within READ_TIMEOUT; retries have their own budget on top.
DOWNLOAD_DEADLINE = 120.0

#: Redirects followed for one repository request (Helm and curl allow more;
#: real repositories use one, to a CDN or release asset).
MAX_REDIRECTS = 5

#: A blob read back from a registry: a chart archive never holds more than Helm loads.
OCI_MAX_BLOB_BYTES = HELM_MAX_CHART_BYTES

#: A local OCI layout's index.json: one entry per release, about 300 bytes
#: each, so 16 MiB is tens of thousands of releases.
LAYOUT_INDEX_MAX_BYTES = 16 * 1024 * 1024

# --- registry answers (bpkit.net) -------------------------------------------

#: A manifest read from a registry. distribution refuses to store a larger one
#: (`maxManifestBodySize = 4 << 20` in registry/handlers/manifests.go), and
#: oras-go reads at most this much (`defaultMaxMetadataBytes`).
MANIFEST_MAX_BYTES = OCI_MAX_MANIFEST_BYTES

#: A token service's answer. The distribution token spec's tokens are a few
#: KiB and an answer may hold two (`token`, `access_token`); oras-go
#: reads at most 128 KiB (`maxResponseBytes` in its registry/remote/auth).
TOKEN_RESPONSE_MAX_BYTES = 128 * 1024

#: The part of an error answer (or any answer bpkit does not use) that is
#: read; the rest is dropped with the connection. An OCI error body is about
#: 200 bytes; oras-go's `maxErrorBytes` is the same 8 KiB.
ERROR_BODY_MAX_BYTES = 8 * 1024

#: Slowest transfer rate allowed for a blob before its request is given up
#: (bytes per second): each request may take CONNECT_TIMEOUT + READ_TIMEOUT
#: plus its body's size (or, reading a blob, its cap) at this rate, in total,
#: however the server trickles.
MIN_UPLOAD_RATE = 64 * 1024

#: `Retry-After` in seconds with more digits than this (over 300 years) is
#: treated as malformed and ignored, with a note.
RETRY_AFTER_MAX_DIGITS = 10

#: Pause before reading a pushed tag back, as a multiple of how long the
#: last tag check and the manifest upload took, within these bounds
#: (seconds). Registries have no compare-and-swap for tags; of two
#: publishers whose check-then-upload windows overlap, the pause makes one
#: of them see the other's digest (see bpkit.net.registry).
READBACK_PAUSE_FACTOR = 3.0
READBACK_PAUSE_MIN = 0.02
READBACK_PAUSE_MAX = 2.0

# --- local input (bpkit.cli) ------------------------------------------------

#: A password or token read with `--password-stdin`. Registry tokens (JWTs,
#: GitHub tokens) are far shorter; more means the wrong thing was piped in.
PASSWORD_STDIN_MAX_BYTES = 64 * 1024

#: After Ctrl-C, seconds to let worker threads finish cleanly before the
#: process exits anyway (the charter allows 2 s from Ctrl-C to exit 130).
INTERRUPT_GRACE_SECONDS = 1.0

#: An upstream chart's summary beside the chart cache (bpkit.upstream.summary):
#: its values.yaml and values.schema.json as JSON, each within
#: HELM_MAX_FILE_BYTES, with room for JSON's escapes. Larger ones are not
#: written, and a larger file is not read (the chart is read instead).
UPSTREAM_SUMMARY_MAX_BYTES = 32 * 1024 * 1024

#: An upstream.lock as bpkit writes it is under 1 KiB; one of at most this
#: many bytes is read directly, anything else through the YAML loader (and
#: its HELM_MAX_FILE_BYTES).
LOCK_FAST_MAX_BYTES = 4096
