"""Sharp photographs from Debian's wallpaper packages: more textures to synthesise blur from.

    apt-get download lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds \
        plasma-workspace-wallpapers
    python tools/wallpaper_photos.py --debs_dir=. --output_dir=data/wallpapers

Writes `DIR/train/` (25 photos) and `DIR/heldout/` (6, never trained on: `gain_by_blur_length.py
--photos_dir=DIR/heldout` measures a model on textures it has not seen). BUILD.md's stage 4 try e
trained on the first; no shipped weights saw either. The packages hold artwork too; `PHOTOS` lists
the photographs among them, chosen by eye (Debian 12's versions: lomiri-wallpapers 20.04.0-2,
mate-backgrounds 1.26.0-1, plasma-workspace-wallpapers 5.27.5-2). Each is resized so that its long
side is 1280 pixels, GOPRO's frame width, which also averages away the JPEG blocks of the originals
(2560 to 6028 pixels wide). Photographers and licences are in each package's
/usr/share/doc/PACKAGE/copyright; the photos stay out of the repository.

Every package is read and every photo decoded before anything is written, so a missing package or
file is one error line and no output; each PNG is written atomically.
"""

import argparse
import glob
import io
import os
import subprocess
import tarfile

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_deblur.data import images

LONG_SIDE = 1280
LOMIRI = "lomiri-wallpapers-16.04", "./usr/share/backgrounds/"
MATE = "mate-backgrounds", "./usr/share/backgrounds/mate/nature/"
PLASMA = "plasma-workspace-wallpapers", "./usr/share/wallpapers/"
# (package, folder), file names in it; the held-out ones are marked.
PHOTOS = {
    LOMIRI: (
        "Bridge_by_Sander_Klootwijk.jpg",
        "Dragonfly_by_Bolly.jpg",
        "Picture_0B_by_freespace.jpg",
        "Picture_1A_by_freespace.jpg",
        "Wine_by_Jakkub_Mede.jpg",
        "aitzgorri_by_Aitzol_Berasategi.jpg",
        "friends_by_Aitzol_Berasategi.jpg",
        "greentock_by_Peter_Nerlich.jpg",
        "life_by_Aitzol_Berasategi.jpg",
        "picosdeeuropa_by_Aitzol_Berasategi.jpg",
        "seeding_by_Clements_Engelhardt.jpg",
        "sunset_by_Aitzol_Berasategi.jpg",
    ),
    ("lomiri-wallpapers-20.04", "./usr/share/backgrounds/"): ("Kleiber_by_Lukas_Baubkus.jpg",),
    MATE: tuple(
        f"{name}.jpg"
        for name in (
            "Aqua Blinds Dune FreshFlower Garden GreenMeadow LadyBird RainDrops Storm TwoWings "
            "Wood YellowFlower"
        ).split()
    ),
    PLASMA: tuple(
        f"{name}/contents/images/2560x1600.jpg"
        for name in "BytheWater ColdRipple EveningGlow FallenLeaf OneStandsOut Path".split()
    ),
}
HELD_OUT = {
    "Picture_0B_by_freespace",
    "greentock_by_Peter_Nerlich",
    "Kleiber_by_Lukas_Baubkus",
    "Garden",
    "TwoWings",
    "EveningGlow",
}


def output_stem(package, member):
    """(`package__name`, name): the name is the wallpaper's folder for Plasma's (its files are
    named by size)."""
    name = member.split("/")[0] if package == PLASMA[0] else os.path.splitext(member)[0]
    return f"{package}__{name}", name


def resized(photo):
    scale = LONG_SIDE / max(photo.size)
    if scale >= 1:
        return photo
    size = round(photo.width * scale), round(photo.height * scale)
    return photo.resize(size, Image.LANCZOS)


def read_package(deb_path, folder, members):
    """{member: RGB photo, resized} of the files `members` under `folder` in a .deb's data
    archive; a ValueError names the package and what is wrong with it."""
    try:
        data = subprocess.run(
            ["dpkg-deb", "--fsys-tarfile", deb_path], check=True, capture_output=True
        ).stdout
    except FileNotFoundError:
        raise ValueError("dpkg-deb is not installed (Debian's dpkg package reads .debs)")
    except subprocess.CalledProcessError as failure:
        said = failure.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
        raise ValueError(f"{deb_path}: dpkg-deb: {said[-1]}")
    photos = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in members:
            try:
                photo = Image.open(archive.extractfile(folder + member)).convert("RGB")
            except KeyError:
                raise ValueError(f"{deb_path}: no {folder}{member} (another release's package?)")
            except UnidentifiedImageError:
                raise ValueError(f"{deb_path}: {folder}{member} is not an image")
            photos[member] = resized(photo)  # at once: a package's originals are ~0.5 GB
    return photos


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debs_dir", required=True, help="where apt-get download put the .debs")
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args()
    outputs = []
    for (package, folder), members in PHOTOS.items():
        debs = glob.glob(os.path.join(glob.escape(args.debs_dir), f"{package}_*.deb"))
        if len(debs) != 1:
            parser.error(f"--debs_dir={args.debs_dir}: expected one {package}_*.deb, found {debs}")
        try:
            photos = read_package(debs[0], folder, members)
        except ValueError as error:
            parser.error(str(error))
        for member, photo in photos.items():
            stem, name = output_stem(package, member)
            split = "heldout" if name in HELD_OUT else "train"
            outputs.append((os.path.join(args.output_dir, split, f"{stem}.png"), photo))
    for path, photo in outputs:
        images.write_png(path, np.asarray(photo))
        print(path)


if __name__ == "__main__":
    main()
