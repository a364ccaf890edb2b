"""Reads a PyTorch `.pt` checkpoint without PyTorch, and without running code from the file.

Since PyTorch 1.6, `torch.save` writes a zip archive: `<name>/data.pkl` is a pickle of the saved
object in which each tensor is a call to `torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, ...)`, and each storage is a persistent id `("storage", <dtype>Storage, key, device,
numel)` whose raw bytes are `<name>/data/<key>` (`<name>/byteorder` says little or big endian).

A pickle can name any importable callable, and loading it calls that callable: unpickling an
untrusted file is running untrusted code. So `find_class` here answers only an allow-list (an
ordered dict, the tensor rebuild functions, storage types) with our own stand-ins that build NumPy
arrays, and refuses every other name with an error naming it: nothing of PyTorch's, nor of the
file's choosing, is imported or called. Files in the pre-1.6 format are refused with how to
convert them.
"""

import collections
import io
import pickle
import posixpath
import zipfile

import numpy as np

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


# The paper generator's largest tensor has 64 x 64 x 5 x 5 = 102,400 elements; 2^28 leaves room for
# any model of this family while refusing sizes meant to exhaust memory.
MAX_TENSOR_ELEMENTS = 1 << 28


class CheckpointError(ValueError):
    """The file is not a PyTorch checkpoint we can read safely; the message names the file and
    why."""


class _StorageType:
    def __init__(self, name):
        self.name = name


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_view(storage, offset, size, stride):
    """Refuses a tensor whose view could touch memory outside its storage, before any is touched.

    The file chooses offset, size and stride; `as_strided` trusts them, so a negative or oversized
    stride would read (or crash on) arbitrary process memory. Every element's index must lie in
    [0, storage size).
    """
    described = f"offset {offset!r}, size {size!r}, stride {stride!r}"
    if not (
        _is_count(offset)
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and all(map(_is_count, size))
        and all(map(_is_count, stride))
        and len(size) == len(stride)
    ):
        raise CheckpointError(
            f"a tensor with {described}: offsets, sizes and strides must be non-negative "
            "integers, as many strides as sizes"
        )
    elements = int(np.prod(size, dtype=object))
    if elements > MAX_TENSOR_ELEMENTS:
        raise CheckpointError(
            f"a tensor with {described} has {elements} elements, more than the "
            f"{MAX_TENSOR_ELEMENTS} any DeepDeblur weight needs"
        )
    if elements == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise CheckpointError(
            f"a tensor with {described} reaches element {last} of a storage of {storage.size}"
        )


def _rebuild_tensor(storage, offset, size, stride, *unused):
    """A NumPy copy of the tensor `size`/`stride` views in `storage` from element `offset`."""
    del unused  # requires_grad, backward hooks, metadata: nothing a weight import needs
    size, stride = tuple(size), tuple(stride)
    _check_view(storage, offset, size, stride)
    itemsize = storage.itemsize
    if not size:
        return storage[offset : offset + 1].reshape(()).copy()
    if 0 in size:
        return np.zeros(size, storage.dtype)
    view = np.lib.stride_tricks.as_strided(
        storage[offset:],
        shape=tuple(size),
        strides=tuple(s * itemsize for s in stride),
        writeable=False,
    )
    return np.array(view)


def _rebuild_parameter(data, requires_grad, backward_hooks, *unused):
    del requires_grad, backward_hooks, unused
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive, prefix, byteorder, path):
        super().__init__(file)
        self.archive, self.prefix, self.byteorder, self.path = archive, prefix, byteorder, path
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(
            f"{self.path}: refusing to unpickle {module}.{name}: only tensors, dicts and lists are "
            f"read "
            "from a checkpoint (anything else could run code)"
        )

    def persistent_load(self, pid):
        if not (
            isinstance(pid, tuple)
            and len(pid) >= 3
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
        ):
            raise CheckpointError(f"{self.path}: unknown persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if key not in self.storages:
            dtype = np.dtype(STORAGE_DTYPES[storage_type.name]).newbyteorder(
                "<" if self.byteorder == "little" else ">"
            )
            member = f"{self.prefix}/data/{key}"
            try:
                raw = self.archive.read(member)
            except KeyError:
                raise CheckpointError(
                    f"{self.path}: storage {member} is missing from the archive"
                ) from None
            self.storages[key] = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
        return self.storages[key]


def load(path):
    """The object saved in the `.pt` file at `path`, with every tensor as a NumPy array.

    Raises:
      FileNotFoundError: no such file.
      CheckpointError: not a zip-format PyTorch checkpoint, or it names a type outside the
      allow-list.
    """
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"--torch_checkpoint={path}: no such file") from None
    except (zipfile.BadZipFile, IsADirectoryError, OSError) as error:
        with open(path, "rb") as file:
            head = file.read(2)
        hint = (
            (
                " It looks like a pickle in PyTorch's pre-1.6 format: re-save it with a current "
                "PyTorch "
                "(torch.save(torch.load(f), g)) and import that."
            )
            if head[:1] == b"\x80"
            else ""
        )
        raise CheckpointError(
            f"--torch_checkpoint={path} is not a PyTorch checkpoint (zip): {error}.{hint}"
        ) from None
    try:
        return _load_archive(archive, path)
    except zipfile.BadZipFile as error:  # a member damaged (its CRC) or cut short
        raise CheckpointError(
            f"--torch_checkpoint={path}: its archive is damaged: {error}"
        ) from None


def _load_archive(archive, path):
    """The unpickled checkpoint of an opened torch.save archive."""
    with archive:
        pickles = [
            name
            for name in archive.namelist()
            if name.endswith("/data.pkl") and name.count("/") == 1
        ]
        if len(pickles) != 1:
            raise CheckpointError(
                f"--torch_checkpoint={path}: a zip, but not one torch.save wrote (no "
                f"<name>/data.pkl)"
            )
        prefix = posixpath.dirname(pickles[0])
        byteorder_member = f"{prefix}/byteorder"
        byteorder = (
            archive.read(byteorder_member).decode()
            if byteorder_member in archive.namelist()
            else "little"
        )
        unpickler = _Unpickler(
            io.BytesIO(archive.read(pickles[0])), archive, prefix, byteorder, path
        )
        try:
            return unpickler.load()
        except CheckpointError as error:
            if path in str(error):
                raise
            raise CheckpointError(f"--torch_checkpoint={path}: {error}") from None
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as error:
            raise CheckpointError(
                f"--torch_checkpoint={path}: cannot read its pickle: {error}"
            ) from None
