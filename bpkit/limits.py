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

#: Anchors may not expand a YAML document into more nodes than this
#: ("billion laughs"); real values files stay far below it.
YAML_MAX_EXPANDED_NODES = 1_000_000

#: Files and folders walked in one chart: stops symlink fan-out.
CHART_MAX_WALK_ENTRIES = 20_000

#: Go's archive/tar limit for PAX and GNU long-name records.
TAR_MAX_SPECIAL_RECORD = 1024 * 1024

#: The decompressed tar stream of one chart: the data limit plus room for
#: headers; a gzip bomb stops here.
TAR_MAX_STREAM = HELM_MAX_CHART_BYTES + 16 * 1024 * 1024

#: Seconds a credential helper (docker-credential-*) may take to answer.
CREDENTIAL_HELPER_SECONDS = 15.0

#: Seconds of retries per blueprint when a registry fails in a way worth
#: retrying (429, 502, 503, 504, dropped connections).
DEFAULT_RETRY_BUDGET = 30.0

#: Seconds to wait for a TCP/TLS connection, and for each answer.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0

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
