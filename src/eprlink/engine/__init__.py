"""The engine: channels from ``eprlink.toml``, store-then-ACK inbound, FIFO delivery, operations.

``load_config`` reads and checks the configuration; ``Engine(config)`` runs it
(``start``/``stop``/``run_until``); ``EngineAPI`` (or ``open_api`` on a stopped engine's store)
is the operations facade for the CLI and the web console.
"""

from __future__ import annotations

from eprlink.engine.api import (
    ChannelStatus,
    DestinationStatus,
    EngineAPI,
    MessageDetail,
    MessageRow,
    PartnerReconciliation,
    Status,
    open_api,
)
from eprlink.engine.config import EngineConfig
from eprlink.engine.dump import dump_config, effective_config
from eprlink.engine.errors import ConfigError, ConfigProblem, EngineError, OperatorError
from eprlink.engine.loader import load_config, load_config_text
from eprlink.engine.metrics import METRICS, Metrics, MetricsSnapshot
from eprlink.engine.runtime import Engine

__all__ = [
    "METRICS",
    "ChannelStatus",
    "ConfigError",
    "ConfigProblem",
    "DestinationStatus",
    "Engine",
    "EngineAPI",
    "EngineConfig",
    "EngineError",
    "MessageDetail",
    "MessageRow",
    "Metrics",
    "MetricsSnapshot",
    "OperatorError",
    "PartnerReconciliation",
    "Status",
    "dump_config",
    "effective_config",
    "load_config",
    "load_config_text",
    "open_api",
]
