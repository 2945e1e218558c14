"""TensorBoard's own code as the reference for ptm's event files (PyPI `tensorboard`, `tbparse`).

    python tensorboard_reference.py golden          # events serialized by TensorBoard's protos, hex
    python tensorboard_reference.py check RUN_DIR   # RUN_DIR/tb read back by TensorBoard's event
                                                    # reader and by tbparse: the scalars must be
                                                    # metrics.jsonl's, each step once; prints a summary

Exit 1 with a message on the first difference.
"""
import json
import math
import os
import sys

import numpy as np


def golden():
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    from tensorboard.summary.writer.record_writer import RecordWriter
    import io

    def show(name, ev):
        data = ev.SerializeToString()
        buf = io.BytesIO()
        RecordWriter(buf).write(data)  # TensorBoard's own framing
        print(name, data.hex(), buf.getvalue().hex())

    show("file_version", event_pb2.Event(wall_time=1.5, file_version="brain.Event:2"))
    show("scalar", event_pb2.Event(wall_time=1.5, step=7, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="train/loss", simple_value=2.25)])))
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    tensor = tensor_pb2.TensorProto(dtype=7, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]), string_val=[b"hi *there*"])
    show("text", event_pb2.Event(wall_time=1.5, step=300, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="recipe", tensor=tensor, metadata=meta)])))
    show("image", event_pb2.Event(wall_time=1.5, step=2, summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag="inputs/0", image=summary_pb2.Summary.Image(height=28, width=27, colorspace=1,
                                                         encoded_image_string=b"PNGDATA"))])))
    for data in [b"123456789", bytes(32), b"\xff" * 32, bytes(range(32)), b""]:
        print("masked_crc32c", data.hex() or "-", "%08x" % masked_crc32c(data))


def fail(msg):
    print("tensorboard_reference: " + msg, file=sys.stderr)
    sys.exit(1)


def expected_scalars(run_dir):
    """{tag: {step: float32}} from metrics.jsonl, tagged as ptm tags them."""
    want = {}
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            split = rec.get("split")
            group = "train" if split is None else "eval" if split == "val" else split
            for k, v in rec.items():
                if k == "step" or isinstance(v, bool) or not isinstance(v, (int, float, type(None))):
                    continue
                name = k[5:] if split is not None and k.startswith("eval_") else k
                tag = group + "/" + name
                if rec["step"] in want.setdefault(tag, {}):
                    fail(f"metrics.jsonl has step {rec['step']} of {tag} twice")
                want[tag][rec["step"]] = np.float32(math.nan if v is None else v)
    return want


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or np.float32(a) == np.float32(b)


def check(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tbparse import SummaryReader

    want = expected_scalars(run_dir)
    tb_dir = os.path.join(run_dir, "tb")
    files = [f for f in os.listdir(tb_dir) if "tfevents" in f]
    if len(files) != 1:
        fail(f"expected one events file in {tb_dir}, found {files}")

    # TensorBoard's own reader (what the TensorBoard UI shows); no purging, so a step written
    # twice would show up twice.
    acc = EventAccumulator(tb_dir, size_guidance={"scalars": 0, "tensors": 0, "images": 0},
                           purge_orphaned_data=False)
    acc.Reload()
    tags = acc.Tags()
    if sorted(tags["scalars"]) != sorted(want):
        fail(f"scalar tags differ: tensorboard {sorted(tags['scalars'])}, metrics.jsonl {sorted(want)}")
    for tag, steps in want.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        if [s for s, _ in got] != sorted(steps):
            fail(f"{tag}: steps {[s for s, _ in got]} in tensorboard, {sorted(steps)} in metrics.jsonl")
        for step, value in got:
            if not same(value, steps[step]):
                fail(f"{tag} at step {step}: tensorboard {value!r}, metrics.jsonl {steps[step]!r}")
    texts = {t: [(e.step, e.tensor_proto.string_val[0].decode()) for e in acc.Tensors(t)] for t in tags["tensors"]}
    with open(os.path.join(run_dir, "config.yaml")) as f:
        config = f.read()
    recipe = texts.get("recipe", [])
    if len(recipe) != 1 or recipe[0][1].replace("\n    ", "\n").strip() != config.strip():
        fail("the text 'recipe' is not config.yaml")

    # Input images (image runs): PNGs that PIL decodes to the size the event states.
    import io
    from PIL import Image

    images = {}
    for tag in tags["images"]:
        for ev in acc.Images(tag):
            img = Image.open(io.BytesIO(ev.encoded_image_string))
            img.load()
            if img.size != (ev.width, ev.height):
                fail(f"{tag}: PNG of {img.size}, event says {(ev.width, ev.height)}")
            lo, hi = img.convert("L").getextrema()
            if lo == hi:
                fail(f"{tag}: a blank image")
            images[tag] = [ev.step, ev.width, ev.height, img.mode]

    # tbparse, the usual way to get event files into pandas.
    df = SummaryReader(tb_dir).scalars
    n = 0
    for row in df.itertuples():
        if not same(row.value, want[row.tag][row.step]):
            fail(f"tbparse: {row.tag} at step {row.step}: {row.value!r}, metrics.jsonl {want[row.tag][row.step]!r}")
        n += 1
    if n != sum(len(s) for s in want.values()):
        fail(f"tbparse read {n} scalars, metrics.jsonl has {sum(len(s) for s in want.values())}")
    text_steps = {t: [s for s, _ in v] for t, v in texts.items()}
    print(json.dumps({"scalars": n, "tags": len(want), "texts": text_steps, "images": images}))


if sys.argv[1] == "golden":
    golden()
elif sys.argv[1] == "check":
    check(sys.argv[2])
else:
    fail("usage: tensorboard_reference.py golden | check RUN_DIR")
