"""SessionVault for Python: Telethon and Pyrogram sessions kept encrypted by ``session-vault serve``.

``sessionvault.telethon.VaultSession`` and ``sessionvault.pyrogram.VaultStorage`` are the
adapters (imported on demand: each needs its library); ``Agent`` is the protocol client they use.
"""
from .agent import (  # noqa: F401
    AgentDiedError, AgentNotFoundError, AlreadyExistsError, Agent, AsyncAgent, ClosedError, CorruptError,
    CryptoFailureError, InUseError, InvalidArgumentError, KDFParametersOutOfBoundsError, LeaseLostError,
    NotAVaultError, NotFoundError, SQLiteUnavailableError, TamperedError, UnsupportedFormatVersionError,
    VaultError, VaultIOError, WrongPassphraseError, find_binary,
)

__version__ = "0.1.0"
