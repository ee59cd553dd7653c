"""The errors that are the user's to fix: the CLI prints the message and the error's hint, no traceback.

Hierarchy (every one is a :class:`FacmonError`):

- :class:`InputError`: a file, an option or a registry entry that cannot be used, named in the message
  (``facmon.registry.SiteFileError``, ``facmon.simulators.faults.FaultFileError``,
  ``facmon.analytics.fault_evaluation.LabelsError``, ...).
- :class:`ServiceUnavailable`: a server facmon needs does not answer as it should; the same request may
  work later (``facmon.store.StoreUnavailable``, ``facmon.simulators.publisher.PublishError``).

  - :class:`ServiceUnreachable`: nothing answers at the address. Hint: is the local stack running.
  - :class:`TlsVerificationFailed`: it answers, but its certificate does not verify. Hint: the CA file.

- :class:`StoreRejected <facmon.store.StoreRejected>`: InfluxDB refused the request itself.
- :class:`~facmon.grafana.check.ProvisioningRefused`: Grafana would refuse a provisioning file.

An error's :attr:`FacmonError.hint` says what to do about it; a class gives the hint its kind of error
needs, an instance may carry a more specific one. The CLI never looks inside the message.
"""

from __future__ import annotations


class FacmonError(Exception):
    """A user mistake or an unusable environment, explained in the message."""

    default_hint: str | None = None  # what to do about errors of this kind

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        self._hint = hint

    @property
    def hint(self) -> str | None:
        """What the user can do about it, or None."""
        hint: str | None = getattr(self, "_hint", None)  # a subclass may not call this __init__
        return hint if hint is not None else self.default_hint


class InputError(FacmonError):
    """A file, option or registry entry cannot be used; the message names it."""


class ServiceUnavailable(FacmonError):
    """A server facmon needs (InfluxDB, the MQTT broker, Grafana) does not answer as it should."""


class ServiceUnreachable(ServiceUnavailable):
    """Nothing answers at the server's address."""

    default_hint = (
        "Is the local stack running? `facmon stack status` shows it (FACMON_HOME), `facmon stack up` starts it; "
        "or set FACMON_INFLUX_URL / FACMON_MQTT_HOST / FACMON_MQTT_PORT."
    )


class TlsVerificationFailed(ServiceUnavailable):
    """The server answers, but its certificate does not verify."""

    default_hint = (
        "Check the CA file that signed the server's certificate: FACMON_MQTT_TLS_CA for the broker "
        "(`facmon stack up --tls` writes one: FACMON_HOME/mqtt/tls/ca.crt), REQUESTS_CA_BUNDLE for InfluxDB, "
        "and the host name the certificate names."
    )
