"""Task types in the company's language: the built-in types listed under their names in the caller's
company language (`domain.languages`), and no company type named like a built-in one in any language.
A layer over `tasks.TaskUseCases` (RecordsService lists it first)."""

from __future__ import annotations

from crm_platform.context import Principal
from crm_platform.errors import Conflict
from crm_records.domain import languages
from crm_records.service_layer.tasks import TaskUseCases


class TaskTypeNames(TaskUseCases):
    def task_types(self, p: Principal) -> list[tuple[str, str, bool]]:
        return [(k, languages.builtin_task_name(k, p.language, n) if builtin else n, builtin)
                for k, n, builtin in super().task_types(p)]

    def create_task_type(self, p: Principal, name: str) -> tuple[str, str, bool]:
        if p.can("admin") and languages.is_builtin_task_name(name or ""):
            raise Conflict("task_type_exists", "This task type already exists", field="name")
        return super().create_task_type(p, name)
