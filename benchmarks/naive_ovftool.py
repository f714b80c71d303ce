"""The reference's two ovftool round trips, replayed: stemcell import and the empty-disk OVF.

Each is one ovftool run at the cost model's price (``ovftool-sim`` when its
model is there). When the simulated ovftool produced nothing (no model yet, or
it refused the input), the file effect the reference gets from ovftool is made
directly here at no extra cost, so the replay never pays more than ovftool
would. This module only serves ``reference.NaiveCpi``.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.formats import vmdk

if TYPE_CHECKING:
    from benchmarks.reference import NaiveCpi

MAKEDISK_OVF = Path(__file__).with_name("makedisk.ovf")  # Appendix C, verbatim


def makedisk(naive: NaiveCpi, target: str, size_mb: int) -> None:
    """``ovftool --sourceType=OVF --targetType=VMX --name=makedisk`` on a temp OVF, then copy its disk."""
    with tempfile.TemporaryDirectory(prefix="ovf-disk-generate") as tmp:
        ovf = os.path.join(tmp, "makedisk.ovf")
        Path(ovf).write_text(MAKEDISK_OVF.read_text().replace("@SIZE_MB@", str(size_mb)))
        argv = [
            "--sourceType=OVF",
            "--targetType=VMX",
            "--name=makedisk",
            ovf,
            os.path.join(tmp, "makedisk.vmx"),
        ]
        made = os.path.join(tmp, "makedisk-disk1.vmdk")
        naive._ovftool(argv, naive.costs.ovftool_makedisk)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(made):
            shutil.copyfile(made, target)
            return
        naive.charged.add("makedisk")
        with open(target, "wb") as handle:
            vmdk.create_sparse(handle, size_mb * 1024 * 1024)


def import_stemcell(naive: NaiveCpi, image: str) -> str:
    """Unpack the image and ``ovftool ... image.ovf <store>/cs-X/cs-X.vmx``; the stemcell CID."""
    cid = str(uuid.uuid4())
    vmx = naive._vmx("cs", cid)
    with tempfile.TemporaryDirectory(prefix="stemcell-") as tmp:
        with tarfile.open(image) as tar:
            tar.extractall(tmp, filter="data")
        argv = [
            "--allowExtraConfig=true",
            "--targetType=VMX",
            f"--name=cs-{cid}",
            "--sourceType=OVF",
            "--allowAllExtraConfig=true",
            os.path.join(tmp, "image.ovf"),
            vmx,
        ]
        naive._ovftool(argv, naive.costs.ovftool_import)
    if not os.path.exists(vmx):
        naive.charged.add("import")
        naive.space.make_template(cid)
    return cid
