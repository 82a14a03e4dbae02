"""Type stubs of brim's native module (brim-py/src/lib.rs); checked by mypy.stubtest."""

import os
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union, final

__all__ = [
    "BrimError",
    "InputError",
    "LeadError",
    "LearnedModel",
    "Model",
    "ModelError",
    "get_threads",
    "lead_columns",
    "score",
    "score_arrow",
    "score_columns",
    "score_list",
    "set_threads",
    "train_columns",
    "__version__",
]

__version__: str

class BrimError(Exception):
    """The base of every error that brim raises."""

class ModelError(BrimError):
    """A scoring model that was rejected; `.problems` lists every problem."""

    problems: List[Tuple[str, str]]

class LeadError(BrimError):
    """A lead that failed validation."""

    field: str
    message: str
    index: Optional[int]

class InputError(BrimError):
    """Input that could not be read as leads at all."""

@final
class Model:
    """A scoring model, compiled and ready to score."""

    @staticmethod
    def preset(name: str) -> Model: ...
    @staticmethod
    def presets() -> List[str]: ...
    @staticmethod
    def from_toml(text: str) -> Model: ...
    @staticmethod
    def from_json(text: str) -> Model: ...
    @staticmethod
    def from_text(text: str) -> Model: ...
    @staticmethod
    def from_file(path: Union[str, "os.PathLike[str]"]) -> Model: ...
    def to_toml(self) -> str: ...
    def to_json(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> Tuple[Any, Tuple[str]]: ...

def score(lead: Any, model: Model) -> Dict[str, Any]: ...
def score_list(leads: Iterable[Any], model: Model, errors: str) -> Tuple[List[Dict[str, Any]], List[LeadError]]: ...
def score_arrow(
    data: Any, model: Model, detail: str = "full", errors: str = "raise", offset: int = 0
) -> Tuple[Any, Optional[Any], List[LeadError]]: ...
def lead_columns(names: List[str]) -> List[str]:
    """The lead columns; raises InputError without company_name or with a lead column twice."""
    ...
def score_columns(detail: str = "full") -> List[str]: ...
def set_threads(n: Optional[int]) -> None: ...
def get_threads() -> int: ...

@final
class LearnedModel:
    """A model learned from outcomes (brim-core's ``learn``)."""
    @staticmethod
    def from_json(text: str) -> LearnedModel: ...
    def to_json(self) -> str: ...
    def predict_columns(self, names: List[str], columns: List[List[Any]]) -> List[float]: ...
    def explain_columns(
        self, names: List[str], columns: List[List[Any]], row: int, n: int
    ) -> List[Tuple[str, float]]: ...
    @property
    def summary(self) -> Dict[str, Any]: ...

def train_columns(
    names: List[str],
    columns: List[List[Any]],
    label: str,
    drop: List[str],
    learner: str,
    seed: int,
    min_class: int,
    cv: int,
    skip_unknown: bool,
    now_ms: int,
    name: str,
) -> LearnedModel: ...
