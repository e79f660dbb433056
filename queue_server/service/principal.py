"""Who is asking: a signed-in staff member or a registered device, and what each may do."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import Forbidden
from ..domain.model import Actor

STAFF_ROLES = ("admin", "manager", "staff")
DEVICE_ROLES = ("kiosk", "display", "printer", "evaluator")


@dataclass(frozen=True)
class Principal:
    kind: str  # "staff" | "device"
    id: str  # staff number (工号) or device name
    name: str
    role: str  # one of STAFF_ROLES or DEVICE_ROLES
    hall: str | None  # None: every hall (admin)
    window: int | None = None  # evaluator devices are bound to a window
    kiosk: str | None = None  # printer devices are bound to a kiosk
    photo_url: str | None = None
    region: str | None = None  # a street or district office's manager (hall None, operates no hall)
    must_change_password: bool = False  # signed in with a one-time password (service/staff.py)

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.id, self.name, self.role)

    def may_enter(self, hall: str) -> bool:
        if self.region is not None:  # reviews its region's figures; operates no hall
            return False
        return self.hall is None or self.hall == hall

    def require_hall(self, hall: str) -> None:
        if not self.may_enter(hall):
            raise Forbidden("auth.other_hall", who=f"{self.role} {self.id}", own=self.hall, hall=hall)

    def require_role(self, hall: str, *roles: str) -> None:
        self.require_hall(hall)
        if self.role not in roles:
            raise Forbidden("auth.role", who=f"{self.kind} {self.id}", role=self.role, roles=", ".join(roles))
