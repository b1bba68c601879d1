"""Draw cartoon animals from class profiles with Pillow.

Each image draws one profile with random pose, scale, position, habitat background, texture,
colour jitter and clutter, and may hide a part (a tail behind the body, a pattern in shadow) with
the probabilities fixed in :mod:`utils.sample_world.profiles`. Every random choice comes from the
``numpy.random.Generator`` passed in, so an image is a pure function of (profile, generator state).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter

from utils.sample_world.profiles import (
    COLOURS,
    HABITATS,
    PART_VISIBLE_PROBABILITY,
    PATTERN_VISIBLE_PROBABILITY,
    STRAY_HABITAT_PROBABILITY,
    ClassProfile,
)

SKY = (168, 204, 232)
SIZE_SCALE = {"big": 0.40, None: 0.31, "small": 0.23}
HORN_COLOUR = (226, 214, 184)


def _shade(colour, factor):
    return tuple(int(min(255, max(0, channel * factor))) for channel in colour)


def _jitter_colour(colour, rng, amount=18):
    return tuple(int(np.clip(channel + rng.normal(0, amount), 0, 255)) for channel in colour)


def draw_habitat(habitat: str, size: int, rng: np.random.Generator) -> Image.Image:
    """A textured background of ``size`` × ``size`` pixels for one of ``HABITATS``."""
    image = Image.new("RGB", (size, size), SKY)
    draw = ImageDraw.Draw(image)
    horizon = int(size * rng.uniform(0.3, 0.5))

    def ground(colour):
        draw.rectangle([0, horizon, size, size], fill=_jitter_colour(colour, rng, 10))

    if habitat == "ocean":
        for y in range(size):
            t = y / size
            draw.line([(0, y), (size, y)], fill=(int(40 - 25 * t), int(100 - 50 * t), int(180 - 60 * t)))
        for _ in range(14):
            x, y = rng.uniform(0, size, 2)
            draw.arc([x, y, x + size * 0.15, y + size * 0.05], 180, 360, fill=(150, 190, 230), width=2)
    elif habitat == "water":
        ground((60, 130, 70))
        water_top = horizon + int(size * rng.uniform(0.08, 0.15))
        draw.rectangle([0, water_top, size, size], fill=_jitter_colour((62, 118, 196), rng, 10))
        for _ in range(10):
            x, y = rng.uniform(0, size), rng.uniform(water_top, size)
            draw.line([(x, y), (x + size * 0.12, y)], fill=(140, 180, 230), width=1)
    elif habitat == "arctic":
        image.paste((214, 230, 242), [0, 0, size, size])
        ground((246, 248, 252))
        for _ in range(40):
            x, y = rng.uniform(0, size, 2)
            draw.ellipse([x, y, x + 2, y + 2], fill=(255, 255, 255))
    elif habitat == "desert":
        image.paste((240, 216, 170), [0, 0, size, size])
        ground((222, 186, 118))
        for _ in range(4):
            x, y = rng.uniform(-0.3, 1.0) * size, rng.uniform(horizon, size)
            draw.arc([x, y, x + size * 0.6, y + size * 0.3], 180, 360, fill=(196, 156, 92), width=2)
    elif habitat == "plains":
        ground((192, 186, 96))
        for _ in range(60):
            x, y = rng.uniform(0, size), rng.uniform(horizon, size)
            draw.line([(x, y), (x + rng.uniform(-2, 2), y - size * 0.04)], fill=(150, 150, 60), width=1)
        if rng.random() < 0.5:
            x = rng.uniform(0, size)
            draw.ellipse([x, horizon - size * 0.12, x + size * 0.2, horizon], fill=(90, 120, 50))
    elif habitat == "fields":
        ground((110, 172, 72))
        for row in range(5):
            y = horizon + (size - horizon) * (row + 0.5) / 5
            draw.line([(0, y), (size, y + rng.uniform(-3, 3))], fill=(90, 146, 58), width=2)
        fence_y = horizon + size * 0.05
        draw.line([(0, fence_y), (size, fence_y)], fill=(150, 110, 70), width=2)
    elif habitat == "forest":
        image.paste((46, 84, 46), [0, 0, size, size])
        for _ in range(7):
            x = rng.uniform(0, size)
            draw.rectangle([x, 0, x + size * 0.05, size], fill=(86, 60, 36))
        for _ in range(12):
            x, y = rng.uniform(0, size), rng.uniform(0, size * 0.4)
            draw.ellipse([x, y, x + size * 0.2, y + size * 0.15], fill=(60, 110, 56))
        draw.rectangle([0, int(size * 0.8), size, size], fill=(70, 60, 40))
    elif habitat == "jungle":
        image.paste((28, 118, 52), [0, 0, size, size])
        for _ in range(30):
            x, y = rng.uniform(0, size, 2)
            green = (int(rng.uniform(20, 80)), int(rng.uniform(130, 200)), int(rng.uniform(40, 90)))
            draw.ellipse([x, y, x + size * 0.12, y + size * 0.05], fill=green)
        for _ in range(4):
            x = rng.uniform(0, size)
            draw.line([(x, 0), (x + rng.uniform(-10, 10), size * 0.6)], fill=(40, 90, 30), width=2)
    elif habitat == "mountains":
        for _ in range(3):
            x, height = rng.uniform(-0.2, 0.8) * size, rng.uniform(0.3, 0.6) * size
            peak = (x + size * 0.25, horizon - height * 0.6)
            draw.polygon([(x, horizon + 2), peak, (x + size * 0.5, horizon + 2)], fill=(112, 112, 122))
            draw.polygon(
                [peak, (peak[0] - size * 0.05, peak[1] + size * 0.06), (peak[0] + size * 0.05, peak[1] + size * 0.06)],
                fill=(240, 240, 245),
            )
        ground((116, 130, 96))
    else:
        raise ValueError(f"unknown habitat {habitat!r}; expected one of {HABITATS}")

    texture = rng.normal(0, 7, (size, size, 1))
    pixels = np.asarray(image, dtype=np.float32) + texture
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def draw_clutter(image: Image.Image, rng: np.random.Generator, count: int) -> None:
    """Small random shapes (stones, leaves, litter) drawn over ``image`` in place."""
    draw = ImageDraw.Draw(image)
    size = image.width
    for _ in range(count):
        x, y = rng.uniform(0, size, 2)
        radius = rng.uniform(0.02, 0.06) * size
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [x - radius, y - radius, x + radius, y + radius]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)


def _ellipse_box(cx, cy, half_width, half_height):
    return [cx - half_width, cy - half_height, cx + half_width, cy + half_height]


def _pattern_layer(size, pattern, colour, box, rng) -> Image.Image:
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    fill = (*colour, 255)
    if pattern == "stripes":
        step = width / rng.uniform(4.5, 6.5)
        x = left + rng.uniform(0, step)
        while x < right:
            draw.polygon([(x, top), (x + step * 0.4, top), (x + step * 0.2, bottom), (x - step * 0.2, bottom)], fill=fill)
            x += step
    elif pattern == "spots":
        for _ in range(int(rng.integers(10, 18))):
            x, y = rng.uniform(left, right), rng.uniform(top, bottom)
            radius = rng.uniform(0.04, 0.07) * width
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill)
    elif pattern == "patches":
        for _ in range(int(rng.integers(2, 5))):
            x, y = rng.uniform(left, right), rng.uniform(top, bottom)
            rx, ry = rng.uniform(0.15, 0.3) * width, rng.uniform(0.2, 0.4) * height
            draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=fill)
    return layer


def _paste_clipped(target: Image.Image, layer: Image.Image, mask: Image.Image) -> None:
    alpha = ImageChops.multiply(layer.getchannel("A"), mask)
    target.paste(layer.convert("RGB"), (0, 0), alpha)


def draw_animal(profile: ClassProfile, size: int, rng: np.random.Generator, scale: float) -> Image.Image:
    """The animal of ``profile`` facing right on a transparent ``size`` × ``size`` RGBA layer.

    Args:
        profile: what to draw.
        size: the layer's side in pixels.
        rng: source of every random choice.
        scale: body size as a fraction of ``size``.
    """
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    unit = size * scale
    body_colour = _jitter_colour(COLOURS[profile.colours[0]], rng)
    second_colour = _jitter_colour(COLOURS[profile.colours[-1]], rng)
    dark = _shade(body_colour, 0.6)
    # Sorted: a frozenset's order follows string hashing, which changes from process to process.
    shows = {part for part in sorted(profile.parts) if rng.random() < PART_VISIBLE_PROBABILITY}
    aquatic = "flippers" in profile.parts

    if profile.bipedal:
        half_width, half_height = 0.30 * unit, 0.46 * unit
    elif aquatic:
        half_width, half_height = 0.78 * unit, (0.34 if profile.build == "bulbous" else 0.22) * unit
    else:
        half_width = {"bulbous": 0.56, "lean": 0.64, None: 0.58}[profile.build] * unit
        half_height = {"bulbous": 0.42, "lean": 0.24, None: 0.32}[profile.build] * unit
    leg_length = (0.62 if "longleg" in profile.parts else 0.32) * unit
    cx = size / 2
    cy = size / 2 - (0.5 * leg_length if not aquatic else 0) + (0.1 * unit if "longneck" in profile.parts else 0)

    if "flys" in shows:
        for direction in (-1, 1):
            tip = (cx + direction * 0.9 * unit, cy - 0.9 * unit)
            draw.polygon([(cx - 0.2 * unit, cy), tip, (cx + direction * 0.5 * unit, cy - 0.1 * unit)], fill=dark)

    if "tail" in shows:
        back_x = cx - half_width * 0.95
        if aquatic:
            draw.polygon(
                [(back_x, cy), (back_x - 0.35 * unit, cy - 0.28 * unit), (back_x - 0.35 * unit, cy + 0.28 * unit)],
                fill=body_colour,
            )
        else:
            end = (back_x - 0.45 * unit, cy - 0.35 * unit * (1 if rng.random() < 0.5 else -0.4))
            draw.line([(back_x, cy - 0.1 * half_height), end], fill=body_colour, width=max(2, int(0.08 * unit)))

    leg_width = max(2, int((0.08 if "longleg" in profile.parts else 0.12) * unit))
    foot_y = cy + half_height * 0.7 + leg_length
    if not aquatic:
        legs = (-0.2, 0.2) if profile.bipedal else (-0.62, -0.32, 0.32, 0.62)
        for offset in legs:
            x = cx + offset * half_width
            draw.line([(x, cy + half_height * 0.5), (x, foot_y)], fill=_shade(body_colour, 0.9), width=leg_width)
            if "hooves" in shows:
                draw.rectangle([x - leg_width * 0.7, foot_y - 0.1 * unit, x + leg_width * 0.7, foot_y], fill=COLOURS["black"])
            if "paws" in shows:
                draw.ellipse(_ellipse_box(x + 0.04 * unit, foot_y, 0.1 * unit, 0.06 * unit), fill=_shade(body_colour, 0.75))
    else:
        for offset in (-0.1, 0.35):
            x = cx + offset * half_width
            if "flippers" in shows:
                draw.polygon(
                    [(x, cy + half_height * 0.6), (x - 0.3 * unit, cy + half_height + 0.25 * unit), (x + 0.1 * unit, cy + half_height * 0.7)],
                    fill=dark,
                )

    body_box = _ellipse_box(cx, cy, half_width, half_height)
    draw.ellipse(body_box, fill=body_colour)
    body_mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(body_mask).ellipse(body_box, fill=255)
    if profile.pattern and rng.random() < PATTERN_VISIBLE_PROBABILITY:
        _paste_clipped(layer, _pattern_layer(size, profile.pattern, second_colour, body_box, rng), body_mask)
    elif len(profile.colours) > 1 and not profile.pattern:
        belly = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        belly_box = _ellipse_box(cx, cy + half_height * 0.7, half_width * 0.8, half_height * 0.55)
        ImageDraw.Draw(belly).ellipse(belly_box, fill=(*second_colour, 255))
        _paste_clipped(layer, belly, body_mask)

    if profile.furry:
        for angle in np.linspace(0, 2 * math.pi, 36, endpoint=False):
            x0, y0 = cx + half_width * math.cos(angle), cy + half_height * math.sin(angle)
            x1, y1 = x0 + 0.08 * unit * math.cos(angle + 0.3), y0 + 0.08 * unit * math.sin(angle + 0.3)
            draw.line([(x0, y0), (x1, y1)], fill=_shade(body_colour, 0.8), width=max(1, int(0.03 * unit)))

    if profile.bipedal:
        head = (cx, cy - half_height - 0.18 * unit)
        if "hands" in shows:
            for direction in (-1, 1):
                shoulder = (cx + direction * half_width * 0.8, cy - half_height * 0.4)
                hand = (cx + direction * (half_width + 0.35 * unit), cy + half_height * 0.3)
                draw.line([shoulder, hand], fill=body_colour, width=leg_width)
                draw.ellipse(_ellipse_box(*hand, 0.09 * unit, 0.09 * unit), fill=_shade(body_colour, 0.7))
    elif aquatic:
        head = (cx + half_width * 0.72, cy - half_height * 0.1)
    elif "longneck" in profile.parts:
        head = (cx + half_width + 0.12 * unit, cy - half_height - 0.75 * unit)
        neck_base = (cx + half_width * 0.7, cy - half_height * 0.2)
        draw.line([neck_base, head], fill=body_colour, width=max(3, int(0.16 * unit)))
        if profile.pattern == "patches":
            draw.line([neck_base, head], fill=second_colour, width=max(1, int(0.05 * unit)))
    else:
        head = (cx + half_width * 0.95, cy - half_height * 0.55)
    head_radius = (0.26 if profile.build == "bulbous" else 0.21) * unit
    if not aquatic:
        draw.ellipse(_ellipse_box(*head, head_radius, head_radius * 0.9), fill=body_colour)
    if "horns" in shows:
        for dx in (-0.4, 0.3):
            base = (head[0] + dx * head_radius, head[1] - head_radius * 0.7)
            draw.line([base, (base[0] + 0.08 * unit, base[1] - 0.3 * unit)], fill=HORN_COLOUR, width=max(2, int(0.05 * unit)))
    if "tusks" in shows:
        mouth = (head[0] + head_radius * 0.6, head[1] + head_radius * 0.5)
        draw.arc([mouth[0] - 0.1 * unit, mouth[1] - 0.1 * unit, mouth[0] + 0.25 * unit, mouth[1] + 0.3 * unit], 90, 200,
                 fill=(250, 250, 240), width=max(2, int(0.05 * unit)))
    eye = (head[0] + head_radius * 0.4, head[1] - head_radius * 0.2)
    eye_colour = COLOURS["white"] if profile.colours[0] == "black" else COLOURS["black"]
    draw.ellipse(_ellipse_box(*eye, 0.045 * unit, 0.045 * unit), fill=eye_colour)
    return layer


def choose_habitat(profile: ClassProfile, rng: np.random.Generator) -> str:
    """One of the class's habitats, or (rarely) any habitat, so backgrounds do not give classes away."""
    if rng.random() < STRAY_HABITAT_PROBABILITY:
        return HABITATS[rng.integers(0, len(HABITATS))]
    return profile.habitats[rng.integers(0, len(profile.habitats))]


def render_animal(
    profile: ClassProfile,
    rng: np.random.Generator,
    output_size: tuple[int, int],
    canvas: int = 128,
    clutter: bool = True,
) -> Image.Image:
    """One RGB image of ``profile``: habitat, clutter, the animal posed at random, colour jitter.

    Args:
        profile: the class to draw.
        rng: the image's generator (derive it from the image's identity for reproducibility).
        output_size: ``(width, height)`` of the returned image.
        canvas: side of the square working canvas (drawn large, then resized, for anti-aliasing).
        clutter: draw distractor shapes behind and in front of the animal.
    """
    image = draw_habitat(choose_habitat(profile, rng), canvas, rng)
    if clutter:
        draw_clutter(image, rng, int(rng.integers(0, 4)))
    paste_animal(image, profile, rng, scale_factor=1.0)
    if clutter:
        draw_clutter(image, rng, int(rng.integers(0, 3)))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.75, 1.25))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return image.resize(output_size, Image.Resampling.LANCZOS)


def paste_animal(
    image: Image.Image,
    profile: ClassProfile,
    rng: np.random.Generator,
    scale_factor: float = 1.0,
    center: tuple[float, float] | None = None,
) -> None:
    """Draw ``profile`` in a random pose (flip, tilt, scale, shift) onto ``image`` in place.

    Args:
        scale_factor: shrinks the animal (scenes with several animals use < 1).
        center: where the animal's centre goes, as fractions of the image; random near the middle if None.
    """
    canvas = image.width
    scale = SIZE_SCALE[profile.size] * rng.uniform(0.85, 1.15) * scale_factor
    animal = draw_animal(profile, canvas, rng, scale)
    if rng.random() < 0.5:
        animal = animal.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    animal = animal.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BICUBIC)
    if center is None:
        center = (0.5 + rng.uniform(-0.12, 0.12), 0.5 + rng.uniform(-0.1, 0.1))
    offset = (int((center[0] - 0.5) * canvas), int((center[1] - 0.5) * canvas))
    image.paste(animal, offset, animal)
