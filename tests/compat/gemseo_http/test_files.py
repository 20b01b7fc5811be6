"""Files through the gemseo-http client: an input uploaded in chunks, an output downloaded.

CsvColumnStatistics reads the CSV named by its input ``file_name`` from the workspace root and
writes ``<stem>_summary.csv`` (``column,mean,std`` then one line per column), whose relative
path is its output ``summary_file``. The client uploads the local file in 7-byte chunks, sends
its base name, then downloads the summary into ``root_path/<n>`` for the n-th execution.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy
import pytest
from numpy.testing import assert_allclose

CHUNK_SIZE = 7
"""Small enough that every file goes in many chunks."""

MEASURES = {
    "pressure": [101.3, 99.8, 102.7, 100.1, 98.4, 103.9, 100.0, 101.1],
    "temperature": [12.5, 14.0, 9.75, 11.0, 13.25, 10.5, 12.0, 15.5],
    "flow": [-1.5, 0.25, 3.0, 2.0, -0.75, 1.0, 0.0, 4.5],
}


def write_csv(path: Path, columns: dict[str, list[float]], size_multiple: int = 1) -> Path:
    """Writes a header line and the rows; blank lines at the end (ignored by the discipline)
    pad the file to a multiple of ``size_multiple`` bytes."""
    lines = [",".join(columns)]
    lines += [",".join(map(repr, row)) for row in zip(*columns.values(), strict=True)]
    text = "\n".join(lines) + "\n"
    text += "\n" * (-len(text.encode()) % size_multiple)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_summary(path: Path) -> dict[str, tuple[float, float]]:
    """``{column: (mean, std)}`` from a summary file, after checking its header."""
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["column", "mean", "std"]
    return {name: (float(mean), float(std)) for name, mean, std in rows[1:]}


def assert_statistics(summary: dict, outputs, columns: dict[str, list[float]]) -> None:
    """The summary file and the outputs hold numpy's mean and (population) std of each column."""
    assert list(summary) == list(columns)
    assert list(outputs["column_names"]) == list(columns)
    assert int(outputs["row_count"]) == len(next(iter(columns.values())))
    expected_mean = [numpy.mean(values) for values in columns.values()]
    expected_std = [numpy.std(values) for values in columns.values()]
    assert_allclose([mean for mean, _ in summary.values()], expected_mean, rtol=1e-12)
    assert_allclose([std for _, std in summary.values()], expected_std, rtol=1e-12)
    assert_allclose(outputs["mean"], expected_mean, rtol=1e-12)
    assert_allclose(outputs["std"], expected_std, rtol=1e-12)


def statistics_discipline(remote, downloads: Path, asynchronous: bool):
    """CsvColumnStatistics with its file input uploaded and its summary output downloaded."""
    return remote(
        "CsvColumnStatistics",
        asynchronous,
        inputs_to_upload=["file_name"],
        outputs_to_download=["summary_file"],
        root_path=downloads,
        chunk_size=CHUNK_SIZE,
    )


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_uploaded_csv_gives_downloaded_summary(remote, tmp_path, asynchronous):
    """Two executions: each uploads its file and downloads its summary into a new directory."""
    downloads = tmp_path / "downloads"
    discipline = statistics_discipline(remote, downloads, asynchronous)

    measures = write_csv(tmp_path / "inputs" / "measures.csv", MEASURES)
    assert measures.stat().st_size % CHUNK_SIZE != 0
    outputs = discipline.execute({"file_name": str(measures)})
    summary = Path(outputs["summary_file"])
    assert summary == downloads / "1" / "measures_summary.csv"
    assert summary.read_text().startswith("column,mean,std")
    assert_statistics(read_summary(summary), outputs, MEASURES)

    # A size that is a multiple of the chunk size: the client's last chunk is empty.
    halves = {name: values[:4] for name, values in MEASURES.items()}
    first_half = write_csv(tmp_path / "inputs" / "first-half.csv", halves, CHUNK_SIZE)
    assert first_half.stat().st_size % CHUNK_SIZE == 0
    outputs = discipline.execute({"file_name": str(first_half)})
    summary = Path(outputs["summary_file"])
    assert summary == downloads / "2" / "first-half_summary.csv"
    assert_statistics(read_summary(summary), outputs, halves)


def test_file_without_header_gets_numbered_columns(remote, tmp_path):
    """Without a header line the columns are column_1, column_2…, as the discipline documents."""
    data = tmp_path / "inputs" / "bare.csv"
    data.parent.mkdir()
    data.write_text("1,10\n2,20\n4,40\n")
    outputs = statistics_discipline(remote, tmp_path / "downloads", False).execute(
        {"file_name": str(data)}
    )
    columns = {"column_1": [1.0, 2.0, 4.0], "column_2": [10.0, 20.0, 40.0]}
    assert_statistics(read_summary(Path(outputs["summary_file"])), outputs, columns)
