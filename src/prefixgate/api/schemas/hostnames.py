"""Custom hostnames and fallback origins (SSL for SaaS)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .common import Envelope, Text

__all__ = [
    "CertificateAuthority",
    "CreateHostname",
    "DeletedEnvelope",
    "EditHostname",
    "FallbackOriginIn",
    "FallbackOriginOut",
    "HostnameDeleted",
    "HostnameOut",
    "HostnameStatus",
    "SslIn",
    "SslStatus",
]

MetadataValue = StrictStr | StrictInt | StrictBool | None
CertificateAuthority = Literal["digicert", "google", "lets_encrypt", "ssl_com"]
# Cloudflare's statuses, which list filters accept (prefixgate's hostnames are only pending or active,
# and their SSL only initializing, until certificates are issued).
HostnameStatus = Literal[
    "active",
    "pending",
    "active_redeploying",
    "moved",
    "pending_deletion",
    "deleted",
    "pending_blocked",
    "pending_migration",
    "pending_provisioned",
    "test_pending",
    "test_active",
    "test_active_apex",
    "test_blocked",
    "test_failed",
    "provisioned",
    "blocked",
]
SslStatus = Literal[
    "initializing",
    "pending_validation",
    "deleted",
    "pending_issuance",
    "pending_deployment",
    "pending_deletion",
    "pending_expiration",
    "expired",
    "active",
    "initializing_timed_out",
    "validation_timed_out",
    "issuance_timed_out",
    "deployment_timed_out",
    "deletion_timed_out",
    "pending_cleanup",
    "staging_deployment",
    "staging_active",
    "deactivating",
    "inactive",
    "backup_issued",
    "holding_deployment",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SslSettingsIn(_In):
    model_config = ConfigDict(extra="allow")  # unknown settings reach the domain check, which names them

    ciphers: list[Text] | None = Field(default=None, max_length=100)
    early_hints: Literal["on", "off"] | None = None
    http2: Literal["on", "off"] | None = None
    min_tls_version: Literal["1.0", "1.1", "1.2", "1.3"] | None = None
    tls_1_3: Literal["on", "off"] | None = None


class SslIn(_In):
    method: Literal["http", "txt", "email"] | None = None
    type: Literal["dv"] | None = None
    settings: SslSettingsIn | None = None
    bundle_method: Literal["ubiquitous", "optimal", "force"] | None = None
    wildcard: StrictBool | None = None
    certificate_authority: CertificateAuthority | None = None
    custom_certificate: Text | None = Field(default=None, max_length=20000)
    custom_key: Text | None = Field(default=None, max_length=20000)
    # Custom certificates are refused (not stored unused) until certificates are handled at all.
    custom_cert_bundle: list[dict[Text, Text]] | None = Field(default=None, max_length=10)
    custom_csr_id: Text | None = Field(default=None, max_length=100)

    def custom_certificate_field(self) -> str | None:
        """The first custom-certificate field given, if any."""
        fields = ("custom_certificate", "custom_key", "custom_cert_bundle", "custom_csr_id")
        return next((f for f in fields if getattr(self, f) is not None), None)


class CreateHostname(_In):
    hostname: Text = Field(max_length=1000)  # the domain check names what is wrong (2000)
    ssl: SslIn
    custom_metadata: dict[Text, MetadataValue] | None = None
    custom_origin_server: Text | None = Field(default=None, max_length=1000)
    custom_origin_sni: Text | None = Field(default=None, max_length=1000)


class EditHostname(_In):
    ssl: SslIn | None = None
    custom_metadata: dict[Text, MetadataValue] | None = None
    custom_origin_server: Text | None = Field(default=None, max_length=1000)
    custom_origin_sni: Text | None = Field(default=None, max_length=1000)


class SslOut(BaseModel):
    id: str
    status: str
    method: str
    type: str
    settings: dict[str, object]
    bundle_method: str
    wildcard: bool
    certificate_authority: str | None = None
    validation_records: list[dict[str, object]]
    validation_errors: list[dict[str, str]]


class OwnershipTxt(BaseModel):
    type: Literal["txt"]
    name: str
    value: str


class OwnershipHttp(BaseModel):
    http_url: str
    http_body: str


class HostnameOut(BaseModel):
    id: str
    hostname: str
    status: Literal["pending", "active"]
    ssl: SslOut
    ownership_verification: OwnershipTxt
    ownership_verification_http: OwnershipHttp
    verification_errors: list[str]
    custom_origin_server: str | None
    custom_origin_sni: str | None
    custom_metadata: dict[str, MetadataValue] | None
    created_at: str


class HostnameDeleted(BaseModel):
    id: str


class FallbackOriginIn(_In):
    origin: Text = Field(max_length=1000)


class FallbackOriginOut(BaseModel):
    origin: str
    status: str
    errors: list[str]
    created_at: str
    updated_at: str


class DeletedEnvelope(Envelope[HostnameDeleted]):
    id: str
