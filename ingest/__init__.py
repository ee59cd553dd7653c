"""facmon's MQTT collector: subscribe, decode, validate against the registry, batch, write, acknowledge.

Pieces, each usable and testable alone:

* :mod:`facmon.ingest.decoders`: MQTT message -> decoded readings + rejections (the :class:`Decoder` seam)
* :mod:`facmon.ingest.shelly`, :mod:`facmon.ingest.tasmota`: device conventions chosen by topic in the registry (``mqtt.decoders``)
* :mod:`facmon.ingest.timestamps`: epoch s / ms / ISO-8601 / device-local reading times
* :mod:`facmon.ingest.validation`: decoded reading -> line protocol (good fields) + rejections (bad fields)
* :mod:`facmon.ingest.rejections`: rejection -> ``ingest_rejected`` point
* :mod:`facmon.ingest.sink`: batch -> InfluxDB, isolating refused lines, or -> the on-disk spool while InfluxDB is away
* :mod:`facmon.ingest.spool`: the bounded on-disk spool (checksummed segment files, FIFO replay)
* :mod:`facmon.ingest.collector`: the paho-mqtt client, the writer loop, acks, stats and :func:`run_until_signalled`

This package imports only ``facmon``, paho-mqtt and the standard library.
"""

from facmon.ingest.collector import Collector, Counters, run_until_signalled
from facmon.ingest.decoders import Decoder, DecoderSet, FacmonJsonDecoder, ShellyGen2Decoder, TasmotaDecoder, parse_timestamp
from facmon.ingest.model import Decoded, Reading, Reason, Rejection
from facmon.ingest.sink import Sink, SinkResult, StoreSink
from facmon.ingest.validation import Validator

__all__ = [
    "Collector",
    "Counters",
    "Decoded",
    "Decoder",
    "DecoderSet",
    "FacmonJsonDecoder",
    "Reading",
    "Reason",
    "Rejection",
    "Sink",
    "ShellyGen2Decoder",
    "SinkResult",
    "StoreSink",
    "TasmotaDecoder",
    "Validator",
    "parse_timestamp",
    "run_until_signalled",
]
