"""Apache Beam, imported quietly, and the runner a pipeline of this project runs on."""

import logging

# Importing Beam warns on the root logger that Google Cloud's optional clients are missing, which
# does not matter to a local run; Beam's own INFO lines (state cache, shard renames) are noise.
_root_level = logging.getLogger().level
logging.getLogger().setLevel(logging.ERROR)
try:
    import apache_beam as beam  # noqa: F401 (re-exported)
    from apache_beam.options.pipeline_options import PipelineOptions  # noqa: F401
finally:
    logging.getLogger().setLevel(_root_level)
logging.getLogger("apache_beam").setLevel(logging.ERROR)


def runner(beam_args):
    """Beam's in-process Python runner unless --runner is among `beam_args` (None: Beam reads it
    there).

    Beam 2.77's default DirectRunner first tries its Prism runner, which downloads a binary from
    the internet when the pipeline starts (a hang or a policy breach on a locked-down machine), and
    falls back to the Python runner only after that fails. So the Python runner is named here.
    """
    if any(arg.startswith("--runner") for arg in beam_args):
        return None
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    return FnApiRunner()
