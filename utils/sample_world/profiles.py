"""What each class of the sample world looks like: the attribute vocabulary and the class profiles.

The *Cartoon Animals with Attributes* world keeps AwA2's 50 class names, their order and the
standard 40/10 split (Lampert et al., "Attribute-Based Classification for Zero-Shot Visual Object
Categorization", TPAMI 2014; Xian et al., TPAMI 2018), but replaces AwA2's 85 human-rated
predicates by 35 that a renderer can draw. Each class's profile below was written by hand from
common knowledge; every attribute name is an AwA2 predicate name, so the same loaders and
attribute-name word vectors serve both worlds.

How likely the renderer is to *show* each attribute (a tail may be hidden, one of a class's
habitats is picked per image, ...) is fixed here too, so the continuous class-attribute matrix
is the exact expected frequency of each attribute in the rendered images, in percent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

COLOURS = {
    "black": (35, 33, 30),
    "white": (236, 234, 228),
    "blue": (64, 104, 186),
    "brown": (128, 84, 46),
    "gray": (128, 128, 132),
    "orange": (226, 128, 38),
    "yellow": (222, 196, 78),
}
PATTERNS = ("patches", "spots", "stripes")
SIZES = ("big", "small")
BUILDS = ("bulbous", "lean")
BODY_PARTS = ("flippers", "hands", "hooves", "paws", "longleg", "longneck", "tail", "horns", "tusks", "flys")
HABITATS = ("arctic", "desert", "plains", "forest", "jungle", "mountains", "ocean", "water", "fields")

# Kept in AwA2's predicate order (predicates.txt), so column j means the same thing in both worlds.
AWA2_PREDICATE_ORDER = (
    "black white blue brown gray orange red yellow patches spots stripes furry hairless toughskin big "
    "small bulbous lean flippers hands hooves pads paws longleg longneck tail chewteeth meatteeth "
    "buckteeth strainteeth horns claws tusks smelly flys hops swims tunnels walks fast slow strong weak "
    "muscle bipedal quadrapedal active inactive nocturnal hibernate agility fish meat plankton vegetation "
    "insects forager grazer hunter scavenger skimmer stalker newworld oldworld arctic coastal desert bush "
    "plains forest fields jungle mountains ocean ground water tree cave fierce timid smart group solitary "
    "nestspot domestic"
).split()
_DRAWABLE = set(COLOURS) | set(PATTERNS) | set(SIZES) | set(BUILDS) | set(BODY_PARTS) | set(HABITATS)
_DRAWABLE |= {"furry", "bipedal"}
ATTRIBUTE_NAMES = tuple(name for name in AWA2_PREDICATE_ORDER if name in _DRAWABLE)

# Probability that the renderer draws an attribute the class has (occlusion, a pose that hides it).
PART_VISIBLE_PROBABILITY = 0.9
PATTERN_VISIBLE_PROBABILITY = 0.9
# Share of images drawn in a habitat chosen uniformly among all habitats, not the class's own.
STRAY_HABITAT_PROBABILITY = 0.1


@dataclass(frozen=True)
class ClassProfile:
    """How one class looks.

    Attributes:
        name: the class name in AwA2 spelling (``giant+panda``) or CIFAR-100 spelling (``maple_tree``).
        colours: body colour first, then the colour of the pattern or belly (1–2 names of ``COLOURS``).
        pattern: one of ``PATTERNS`` or ``None``.
        size: ``big``, ``small`` or ``None`` (medium).
        build: ``bulbous``, ``lean`` or ``None``.
        parts: body parts from ``BODY_PARTS``.
        furry: fur drawn around the outline.
        bipedal: stands on two legs.
        habitats: one to three of ``HABITATS``; each image uses one.
    """

    name: str
    colours: tuple[str, ...]
    pattern: str | None
    size: str | None
    build: str | None
    parts: frozenset[str]
    furry: bool
    bipedal: bool
    habitats: tuple[str, ...]

    def __post_init__(self):
        problems = []
        if not 1 <= len(self.colours) <= 2 or not set(self.colours) <= set(COLOURS):
            problems.append(f"colours {self.colours}")
        if self.pattern is not None and (self.pattern not in PATTERNS or len(self.colours) < 2):
            problems.append(f"pattern {self.pattern} needs a second colour")
        if self.size not in (None, *SIZES) or self.build not in (None, *BUILDS):
            problems.append(f"size/build {self.size}/{self.build}")
        if not self.parts <= set(BODY_PARTS):
            problems.append(f"parts {sorted(self.parts - set(BODY_PARTS))}")
        if not 1 <= len(self.habitats) <= 3 or not set(self.habitats) <= set(HABITATS):
            problems.append(f"habitats {self.habitats}")
        if problems:
            raise ValueError(f"profile of {self.name!r} is invalid: {'; '.join(problems)}")

    @property
    def attributes(self) -> frozenset[str]:
        """The class's binary attributes (names from ``ATTRIBUTE_NAMES``)."""
        names = set(self.colours) | set(self.parts) | set(self.habitats)
        names |= {value for value in (self.pattern, self.size, self.build) if value}
        if self.furry:
            names.add("furry")
        if self.bipedal:
            names.add("bipedal")
        return frozenset(names)

    def expected_visibility(self) -> np.ndarray:
        """Percent of this class's images that show each attribute, of shape ``(len(ATTRIBUTE_NAMES),)``."""
        percent = np.zeros(len(ATTRIBUTE_NAMES))
        for index, attribute in enumerate(ATTRIBUTE_NAMES):
            if attribute in HABITATS:
                own = (1 - STRAY_HABITAT_PROBABILITY) / len(self.habitats) if attribute in self.habitats else 0
                percent[index] = 100 * (own + STRAY_HABITAT_PROBABILITY / len(HABITATS))
            elif attribute not in self.attributes:
                continue
            elif attribute in BODY_PARTS:
                percent[index] = 100 * PART_VISIBLE_PROBABILITY
            elif attribute in PATTERNS:
                percent[index] = 100 * PATTERN_VISIBLE_PROBABILITY
            else:
                percent[index] = 100.0
        return percent


def _profile(name, colours, *, pattern=None, size=None, build=None, parts="", furry=False, bipedal=False, habitats):
    return ClassProfile(
        name=name,
        colours=tuple(colours.split()),
        pattern=pattern,
        size=size,
        build=build,
        parts=frozenset(parts.split()),
        furry=furry,
        bipedal=bipedal,
        habitats=tuple(habitats.split()),
    )


# fmt: off
AWA2_PROFILES = {p.name: p for p in (
    _profile("antelope", "brown white", build="lean", parts="hooves longleg tail horns", furry=True, habitats="plains desert"),
    _profile("grizzly+bear", "brown", size="big", build="bulbous", parts="paws", furry=True, habitats="forest mountains"),
    _profile("killer+whale", "black white", pattern="patches", size="big", parts="flippers tail", habitats="ocean"),
    _profile("beaver", "brown", size="small", build="bulbous", parts="paws tail", furry=True, habitats="water forest"),
    _profile("dalmatian", "white black", pattern="spots", build="lean", parts="paws tail", furry=True, habitats="fields"),
    _profile("persian+cat", "white gray", size="small", build="bulbous", parts="paws tail", furry=True, habitats="fields"),
    _profile("horse", "brown black", size="big", build="lean", parts="hooves longleg tail", furry=True, habitats="fields plains"),
    _profile("german+shepherd", "brown black", pattern="patches", build="lean", parts="paws tail", furry=True, habitats="fields"),
    _profile("blue+whale", "blue gray", size="big", build="bulbous", parts="flippers tail", habitats="ocean"),
    _profile("siamese+cat", "white brown", pattern="patches", size="small", build="lean", parts="paws tail", furry=True, habitats="fields"),
    _profile("skunk", "black white", pattern="stripes", size="small", parts="paws tail", furry=True, habitats="forest"),
    _profile("mole", "black", size="small", build="bulbous", parts="paws", furry=True, habitats="fields forest"),
    _profile("tiger", "orange black", pattern="stripes", size="big", build="lean", parts="paws tail", furry=True, habitats="jungle forest"),
    _profile("hippopotamus", "gray", size="big", build="bulbous", parts="hooves tail", habitats="water plains"),
    _profile("leopard", "yellow black", pattern="spots", build="lean", parts="paws tail", furry=True, habitats="jungle plains"),
    _profile("moose", "brown", size="big", parts="hooves longleg horns", furry=True, habitats="forest water"),
    _profile("spider+monkey", "black brown", build="lean", parts="hands longleg tail", furry=True, bipedal=True, habitats="jungle"),
    _profile("humpback+whale", "gray black", size="big", build="bulbous", parts="flippers tail", habitats="ocean"),
    _profile("elephant", "gray", size="big", build="bulbous", parts="tusks tail", habitats="plains jungle"),
    _profile("gorilla", "black gray", size="big", build="bulbous", parts="hands", furry=True, bipedal=True, habitats="jungle forest"),
    _profile("ox", "brown black", size="big", build="bulbous", parts="hooves horns tail", habitats="fields"),
    _profile("fox", "orange white", size="small", build="lean", parts="paws tail", furry=True, habitats="forest fields"),
    _profile("sheep", "white", build="bulbous", parts="hooves", furry=True, habitats="fields mountains"),
    _profile("seal", "gray", build="bulbous", parts="flippers", habitats="ocean arctic"),
    _profile("chimpanzee", "black", parts="hands", furry=True, bipedal=True, habitats="jungle forest"),
    _profile("hamster", "brown white", size="small", build="bulbous", parts="paws", furry=True, habitats="fields"),
    _profile("squirrel", "brown orange", size="small", parts="paws tail", furry=True, habitats="forest"),
    _profile("rhinoceros", "gray", size="big", build="bulbous", parts="hooves horns tail", habitats="plains"),
    _profile("rabbit", "gray white", size="small", parts="paws", furry=True, habitats="fields forest"),
    _profile("bat", "black brown", size="small", build="lean", parts="flys paws", furry=True, habitats="forest mountains"),
    _profile("giraffe", "yellow brown", pattern="patches", size="big", build="lean", parts="hooves longleg longneck horns tail", habitats="plains"),
    _profile("wolf", "gray white", build="lean", parts="paws tail", furry=True, habitats="forest arctic mountains"),
    _profile("chihuahua", "yellow", size="small", build="lean", parts="paws tail", habitats="fields"),
    _profile("rat", "gray brown", size="small", build="lean", parts="paws tail", habitats="fields water"),
    _profile("weasel", "brown white", size="small", build="lean", parts="paws tail", furry=True, habitats="forest fields"),
    _profile("otter", "brown", size="small", build="lean", parts="paws tail", furry=True, habitats="water"),
    _profile("buffalo", "black brown", size="big", build="bulbous", parts="hooves horns tail", furry=True, habitats="plains"),
    _profile("zebra", "white black", pattern="stripes", build="lean", parts="hooves longleg tail", habitats="plains"),
    _profile("giant+panda", "white black", pattern="patches", size="big", build="bulbous", parts="paws", furry=True, habitats="forest mountains"),
    _profile("deer", "brown white", build="lean", parts="hooves longleg horns tail", furry=True, habitats="forest"),
    _profile("bobcat", "brown black", pattern="spots", parts="paws tail", furry=True, habitats="forest mountains"),
    _profile("pig", "white", build="bulbous", parts="hooves tail", habitats="fields"),
    _profile("lion", "yellow brown", size="big", parts="paws tail", furry=True, habitats="plains"),
    _profile("mouse", "gray", size="small", build="lean", parts="paws tail", habitats="fields"),
    _profile("polar+bear", "white", size="big", build="bulbous", parts="paws", furry=True, habitats="arctic ocean"),
    _profile("collie", "brown white", pattern="patches", build="lean", parts="paws tail", furry=True, habitats="fields"),
    _profile("walrus", "brown gray", size="big", build="bulbous", parts="flippers tusks", habitats="arctic ocean"),
    _profile("raccoon", "gray black", pattern="stripes", size="small", parts="hands paws tail", furry=True, habitats="forest water"),
    _profile("cow", "white black", pattern="patches", size="big", build="bulbous", parts="hooves horns tail", habitats="fields"),
    _profile("dolphin", "gray blue", build="lean", parts="flippers tail", habitats="ocean"),
)}
# fmt: on

AWA2_CLASS_NAMES = tuple(AWA2_PROFILES)

# CIFAR-100 classes that are AwA2 animals (or close kin) borrow that animal's profile.
CIFAR_TO_AWA2 = {
    "bear": "grizzly+bear", "beaver": "beaver", "cattle": "cow", "chimpanzee": "chimpanzee",
    "dolphin": "dolphin", "elephant": "elephant", "fox": "fox", "hamster": "hamster",
    "leopard": "leopard", "lion": "lion", "mouse": "mouse", "otter": "otter", "rabbit": "rabbit",
    "raccoon": "raccoon", "seal": "seal", "skunk": "skunk", "squirrel": "squirrel", "tiger": "tiger",
    "whale": "blue+whale", "wolf": "wolf", "camel": "antelope",
}

# One body plan per CIFAR-100 superclass, so the five classes of a superclass look related
# (as they do in the real data set) and differ by colour, pattern and habitat.
CIFAR_SUPERCLASS_BODY_PLANS = {
    "aquatic_mammals": dict(parts="flippers tail", build="bulbous", bipedal=False),
    "fish": dict(parts="flippers tail", build="lean", bipedal=False),
    "flowers": dict(parts="longneck", build="lean", bipedal=False),
    "food_containers": dict(parts="hands", build="bulbous", bipedal=True),
    "fruit_and_vegetables": dict(parts="", build="bulbous", bipedal=False),
    "household_electrical_devices": dict(parts="horns", build=None, bipedal=False),
    "household_furniture": dict(parts="hooves longleg", build=None, bipedal=False),
    "insects": dict(parts="flys longleg", build="lean", bipedal=False),
    "large_carnivores": dict(parts="paws tail", build="lean", bipedal=False),
    "large_man-made_outdoor_things": dict(parts="longneck horns", build=None, bipedal=False),
    "large_natural_outdoor_scenes": dict(parts="tusks", build="bulbous", bipedal=False),
    "large_omnivores_and_herbivores": dict(parts="hooves horns tail", build="bulbous", bipedal=False),
    "medium_mammals": dict(parts="paws tail", build=None, bipedal=False),
    "non-insect_invertebrates": dict(parts="longleg tail", build="bulbous", bipedal=False),
    "people": dict(parts="hands longleg", build="lean", bipedal=True),
    "reptiles": dict(parts="paws tail", build="lean", bipedal=False),
    "small_mammals": dict(parts="paws tail", build="bulbous", bipedal=False),
    "trees": dict(parts="longneck longleg", build=None, bipedal=False),
    "vehicles_1": dict(parts="hooves tusks", build="lean", bipedal=False),
    "vehicles_2": dict(parts="flys hooves", build=None, bipedal=False),
}


def _stable_rng(*keys: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(map(str, keys)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def cifar100_profiles(fine_label_names, coarse_label_names, fine_to_coarse, seed: int = 0) -> dict[str, ClassProfile]:
    """Profiles for the 100 CIFAR-100 classes of the sample one-shot set.

    Animal classes that AwA2 has reuse its profile; the others take their superclass's body plan
    and a colour pair, pattern, size and habitat drawn from a generator keyed by the class name.
    Profiles are made unique, so every class can in principle be told apart.

    Args:
        fine_label_names: the 100 fine names, in label order.
        coarse_label_names: the 20 superclass names, in label order.
        fine_to_coarse: the superclass index of each fine label, of length 100.
        seed: mixes into each class's generator.
    """
    profiles: dict[str, ClassProfile] = {}
    seen_looks: set[tuple] = set()
    for fine_index, fine_name in enumerate(fine_label_names):
        coarse_name = coarse_label_names[fine_to_coarse[fine_index]]
        if fine_name in CIFAR_TO_AWA2:
            base = AWA2_PROFILES[CIFAR_TO_AWA2[fine_name]]
            profile = ClassProfile(**{**base.__dict__, "name": fine_name})
        else:
            plan = CIFAR_SUPERCLASS_BODY_PLANS[coarse_name]
            rng = _stable_rng("cifar100", seed, fine_name)
            for _ in range(100):
                colour_names = list(COLOURS)
                first, second = rng.choice(len(colour_names), size=2, replace=False)
                pattern = [None, *PATTERNS][rng.integers(0, len(PATTERNS) + 1)]
                profile = ClassProfile(
                    name=fine_name,
                    colours=(colour_names[first], colour_names[second]),
                    pattern=pattern,
                    size=[None, *SIZES][rng.integers(0, 3)],
                    build=plan["build"],
                    parts=frozenset(plan["parts"].split()),
                    furry=bool(rng.integers(0, 2)),
                    bipedal=plan["bipedal"],
                    habitats=(HABITATS[rng.integers(0, len(HABITATS))],),
                )
                if _look(profile) not in seen_looks:
                    break
        if _look(profile) in seen_looks:
            raise RuntimeError(f"could not give CIFAR-100 class {fine_name!r} a unique look")
        seen_looks.add(_look(profile))
        profiles[fine_name] = profile
    return profiles


def _look(profile: ClassProfile) -> tuple:
    return tuple(sorted(profile.attributes))


def attribute_matrices(profiles) -> tuple[np.ndarray, np.ndarray]:
    """Binary and continuous class-attribute matrices, each of shape ``(n_classes, len(ATTRIBUTE_NAMES))``.

    Binary: 1 where the profile has the attribute. Continuous: the percent of the class's images
    in which the renderer shows it (AwA2's continuous matrix is human association strength, 0–100).
    """
    binary = np.array(
        [[int(name in profile.attributes) for name in ATTRIBUTE_NAMES] for profile in profiles], dtype=np.uint8
    )
    continuous = np.stack([profile.expected_visibility() for profile in profiles])
    return binary, continuous
