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

#: Seconds one batch git command (`cat-file --batch`) may take.
GIT_SECONDS = 120.0

#: distribution's limit on a manifest it accepts (4 MiB): a manifest read
#: back that is larger is not one bpkit wrote.
OCI_MANIFEST_MAX_BYTES = 4 * 1024 * 1024
