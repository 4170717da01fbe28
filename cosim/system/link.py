"""Links between devices: the 'serial_link' model (tlm/link.cpp) and rings of them.

    link = serial_link(sim, "l01", bandwidth=12.5e9, latency="500 ns", rx_base=RX_BUF)
    sender_bus.map(link.port("tx"), TX_WINDOW, size)        # the sender writes messages here
    sim.bind(link.port("rx"), receiver_bus.port("target"))  # delivered into the receiver
    rx = LinkReceiver(sim, link, "dev1_rx")
    ...
    await sender.write(TX_WINDOW + offset, data)  # returns when the last byte has left
    await rx.message()                            # on the receiver: the next arrival

A ring of D devices is D links, device k sending to device (k + 1) mod D (`ring`).
"""

from __future__ import annotations

from typing import Any

from cosim.system.host import InterruptLine


def serial_link(sim: Any, name: str, **params: Any) -> Any:
    """One direction of a point-to-point link (see cosim.model_info('serial_link'))."""
    return sim.model("serial_link", name, **params)


class LinkReceiver:
    """Counts the messages a link delivers: `await message()` returns at the arrival of
    the next one not yet taken (arrivals are latched, none is missed)."""

    def __init__(self, sim: Any, link: Any, name: str) -> None:
        self.link = link
        self.line = InterruptLine(sim, link.event("delivered"), name)
        self.taken = 0

    async def message(self) -> None:
        await self.line.wait()
        self.taken += 1


def ring(
    sim: Any,
    name: str,
    devices: int,
    *,
    bandwidth: float,
    latency: int | str,
    rx_base: int = 0,
) -> list[Any]:
    """The D links of a ring (link k from device k to device (k+1) mod D), unbound: the
    caller maps link k's 'tx' on device k's bus and binds its 'rx' to device k+1's. A
    single device has no links."""
    if devices < 1:
        raise ValueError(f"ring '{name}': devices must be >= 1, got {devices}")
    if devices == 1:
        return []
    return [
        serial_link(
            sim,
            f"{name}{k}to{(k + 1) % devices}",
            bandwidth=bandwidth,
            latency=latency,
            rx_base=rx_base,
        )
        for k in range(devices)
    ]
