"""Helm's formats: .helmignore, the chart file set, .tgz archives, Chart.yaml as Helm writes it."""
