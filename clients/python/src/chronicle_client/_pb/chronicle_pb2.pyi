from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_USER: _ClassVar[Role]
    ROLE_ASSISTANT: _ClassVar[Role]
    ROLE_TOOL: _ClassVar[Role]
    ROLE_SYSTEM: _ClassVar[Role]
    ROLE_COMMAND_OUTPUT: _ClassVar[Role]
    ROLE_LOG: _ClassVar[Role]

class StartMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    START_MODE_LAST: _ClassVar[StartMode]
    START_MODE_EMPTY: _ClassVar[StartMode]

class SaveMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAVE_MODE_CREATE_NEW: _ClassVar[SaveMode]
    SAVE_MODE_OVERWRITE: _ClassVar[SaveMode]

class Theme(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    THEME_LIGHT: _ClassVar[Theme]
    THEME_DARK: _ClassVar[Theme]

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_SNAPSHOT: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_APPENDED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGE_UPDATED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGES_DELETED: _ClassVar[EventKind]
    EVENT_KIND_MESSAGES_CLEARED: _ClassVar[EventKind]
    EVENT_KIND_FILES_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_SESSION_LOADED: _ClassVar[EventKind]
    EVENT_KIND_SESSION_SAVED: _ClassVar[EventKind]
    EVENT_KIND_SESSION_DELETED: _ClassVar[EventKind]
    EVENT_KIND_SESSION_RENAMED: _ClassVar[EventKind]
    EVENT_KIND_TRASH_CHANGED: _ClassVar[EventKind]
    EVENT_KIND_FILE_MISSING: _ClassVar[EventKind]
    EVENT_KIND_FILE_RESTORED: _ClassVar[EventKind]
    EVENT_KIND_RESYNC: _ClassVar[EventKind]

class BundleSessionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUNDLE_SESSION_KIND_UNSPECIFIED: _ClassVar[BundleSessionKind]
    BUNDLE_SESSION_KIND_WORKING: _ClassVar[BundleSessionKind]
    BUNDLE_SESSION_KIND_SAVED: _ClassVar[BundleSessionKind]
    BUNDLE_SESSION_KIND_TRASH: _ClassVar[BundleSessionKind]

class SessionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_KIND_UNSPECIFIED: _ClassVar[SessionKind]
    SESSION_KIND_WORKING: _ClassVar[SessionKind]
    SESSION_KIND_SAVED: _ClassVar[SessionKind]
    SESSION_KIND_TRASH: _ClassVar[SessionKind]

class SourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_KIND_UNSPECIFIED: _ClassVar[SourceKind]
    SOURCE_KIND_CLAUDE: _ClassVar[SourceKind]
    SOURCE_KIND_CODEX: _ClassVar[SourceKind]
    SOURCE_KIND_OPENCODE: _ClassVar[SourceKind]
    SOURCE_KIND_GEMINI: _ClassVar[SourceKind]
    SOURCE_KIND_AIDER: _ClassVar[SourceKind]
ROLE_UNSPECIFIED: Role
ROLE_USER: Role
ROLE_ASSISTANT: Role
ROLE_TOOL: Role
ROLE_SYSTEM: Role
ROLE_COMMAND_OUTPUT: Role
ROLE_LOG: Role
START_MODE_LAST: StartMode
START_MODE_EMPTY: StartMode
SAVE_MODE_CREATE_NEW: SaveMode
SAVE_MODE_OVERWRITE: SaveMode
THEME_LIGHT: Theme
THEME_DARK: Theme
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_SNAPSHOT: EventKind
EVENT_KIND_MESSAGE_APPENDED: EventKind
EVENT_KIND_MESSAGE_UPDATED: EventKind
EVENT_KIND_MESSAGES_DELETED: EventKind
EVENT_KIND_MESSAGES_CLEARED: EventKind
EVENT_KIND_FILES_CHANGED: EventKind
EVENT_KIND_SESSION_LOADED: EventKind
EVENT_KIND_SESSION_SAVED: EventKind
EVENT_KIND_SESSION_DELETED: EventKind
EVENT_KIND_SESSION_RENAMED: EventKind
EVENT_KIND_TRASH_CHANGED: EventKind
EVENT_KIND_FILE_MISSING: EventKind
EVENT_KIND_FILE_RESTORED: EventKind
EVENT_KIND_RESYNC: EventKind
BUNDLE_SESSION_KIND_UNSPECIFIED: BundleSessionKind
BUNDLE_SESSION_KIND_WORKING: BundleSessionKind
BUNDLE_SESSION_KIND_SAVED: BundleSessionKind
BUNDLE_SESSION_KIND_TRASH: BundleSessionKind
SESSION_KIND_UNSPECIFIED: SessionKind
SESSION_KIND_WORKING: SessionKind
SESSION_KIND_SAVED: SessionKind
SESSION_KIND_TRASH: SessionKind
SOURCE_KIND_UNSPECIFIED: SourceKind
SOURCE_KIND_CLAUDE: SourceKind
SOURCE_KIND_CODEX: SourceKind
SOURCE_KIND_OPENCODE: SourceKind
SOURCE_KIND_GEMINI: SourceKind
SOURCE_KIND_AIDER: SourceKind

class Usage(_message.Message):
    __slots__ = ("sent_tokens", "received_tokens", "cost", "cache_read_tokens", "cache_write_tokens")
    SENT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    sent_tokens: int
    received_tokens: int
    cost: float
    cache_read_tokens: int
    cache_write_tokens: int
    def __init__(self, sent_tokens: _Optional[int] = ..., received_tokens: _Optional[int] = ..., cost: _Optional[float] = ..., cache_read_tokens: _Optional[int] = ..., cache_write_tokens: _Optional[int] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("name", "call_id", "args_json", "result_json", "is_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    ARGS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    call_id: str
    args_json: str
    result_json: str
    is_error: bool
    def __init__(self, name: _Optional[str] = ..., call_id: _Optional[str] = ..., args_json: _Optional[str] = ..., result_json: _Optional[str] = ..., is_error: bool = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "role", "content", "created_at_ms", "model", "usage", "tool", "reasoning", "command", "log_level", "edited_files", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    LOG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EDITED_FILES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: int
    role: Role
    content: str
    created_at_ms: int
    model: str
    usage: Usage
    tool: ToolCall
    reasoning: str
    command: str
    log_level: str
    edited_files: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[int] = ..., role: _Optional[_Union[Role, str]] = ..., content: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., model: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., tool: _Optional[_Union[ToolCall, _Mapping]] = ..., reasoning: _Optional[str] = ..., command: _Optional[str] = ..., log_level: _Optional[str] = ..., edited_files: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ContextFile(_message.Message):
    __slots__ = ("path", "read_only", "added_at_ms", "missing")
    PATH_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    path: str
    read_only: bool
    added_at_ms: int
    missing: bool
    def __init__(self, path: _Optional[str] = ..., read_only: bool = ..., added_at_ms: _Optional[int] = ..., missing: bool = ...) -> None: ...

class OpenProjectRequest(_message.Message):
    __slots__ = ("project", "start", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    start: StartMode
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., start: _Optional[_Union[StartMode, str]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class ProjectState(_message.Message):
    __slots__ = ("project", "revision", "message_count", "file_count", "updated_at_ms", "saved_session_count")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SAVED_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    project: str
    revision: int
    message_count: int
    file_count: int
    updated_at_ms: int
    saved_session_count: int
    def __init__(self, project: _Optional[str] = ..., revision: _Optional[int] = ..., message_count: _Optional[int] = ..., file_count: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., saved_session_count: _Optional[int] = ...) -> None: ...

class ListProjectsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListProjectsResponse(_message.Message):
    __slots__ = ("projects",)
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedCompositeFieldContainer[ProjectState]
    def __init__(self, projects: _Optional[_Iterable[_Union[ProjectState, _Mapping]]] = ...) -> None: ...

class GetWorkingSessionRequest(_message.Message):
    __slots__ = ("project", "after_message_id", "limit")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    AFTER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    project: str
    after_message_id: int
    limit: int
    def __init__(self, project: _Optional[str] = ..., after_message_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class SessionContent(_message.Message):
    __slots__ = ("project", "name", "revision", "messages", "files", "more", "total_messages")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    revision: int
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    files: _containers.RepeatedCompositeFieldContainer[ContextFile]
    more: bool
    total_messages: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., revision: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[ContextFile, _Mapping]]] = ..., more: bool = ..., total_messages: _Optional[int] = ...) -> None: ...

class MutationAck(_message.Message):
    __slots__ = ("revision", "message_id")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    revision: int
    message_id: int
    def __init__(self, revision: _Optional[int] = ..., message_id: _Optional[int] = ...) -> None: ...

class MutateRequest(_message.Message):
    __slots__ = ("append_message", "append_to_message", "update_message", "delete_messages", "clear_messages", "add_context_files", "remove_context_files", "set_context_files")
    APPEND_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    APPEND_TO_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DELETE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CLEAR_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    ADD_CONTEXT_FILES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_CONTEXT_FILES_FIELD_NUMBER: _ClassVar[int]
    SET_CONTEXT_FILES_FIELD_NUMBER: _ClassVar[int]
    append_message: AppendMessageRequest
    append_to_message: AppendToMessageRequest
    update_message: UpdateMessageRequest
    delete_messages: DeleteMessagesRequest
    clear_messages: ClearMessagesRequest
    add_context_files: AddContextFilesRequest
    remove_context_files: RemoveContextFilesRequest
    set_context_files: SetContextFilesRequest
    def __init__(self, append_message: _Optional[_Union[AppendMessageRequest, _Mapping]] = ..., append_to_message: _Optional[_Union[AppendToMessageRequest, _Mapping]] = ..., update_message: _Optional[_Union[UpdateMessageRequest, _Mapping]] = ..., delete_messages: _Optional[_Union[DeleteMessagesRequest, _Mapping]] = ..., clear_messages: _Optional[_Union[ClearMessagesRequest, _Mapping]] = ..., add_context_files: _Optional[_Union[AddContextFilesRequest, _Mapping]] = ..., remove_context_files: _Optional[_Union[RemoveContextFilesRequest, _Mapping]] = ..., set_context_files: _Optional[_Union[SetContextFilesRequest, _Mapping]] = ...) -> None: ...

class AppendMessageRequest(_message.Message):
    __slots__ = ("project", "message", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    message: Message
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class AppendToMessageRequest(_message.Message):
    __slots__ = ("project", "message_id", "delta", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    message_id: int
    delta: str
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., message_id: _Optional[int] = ..., delta: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class UpdateMessageRequest(_message.Message):
    __slots__ = ("project", "message", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    message: Message
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeleteMessagesRequest(_message.Message):
    __slots__ = ("project", "message_id", "truncate_after", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_AFTER_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    message_id: int
    truncate_after: bool
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., message_id: _Optional[int] = ..., truncate_after: bool = ..., expected_revision: _Optional[int] = ...) -> None: ...

class ClearMessagesRequest(_message.Message):
    __slots__ = ("project", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class AddContextFilesRequest(_message.Message):
    __slots__ = ("project", "files", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    files: _containers.RepeatedCompositeFieldContainer[ContextFile]
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., files: _Optional[_Iterable[_Union[ContextFile, _Mapping]]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class RemoveContextFilesRequest(_message.Message):
    __slots__ = ("project", "paths", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class SetContextFilesRequest(_message.Message):
    __slots__ = ("project", "files", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    files: _containers.RepeatedCompositeFieldContainer[ContextFile]
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., files: _Optional[_Iterable[_Union[ContextFile, _Mapping]]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class SessionInfo(_message.Message):
    __slots__ = ("project", "name", "created_at_ms", "updated_at_ms", "message_count", "file_count", "total_usage", "forked_from", "forked_at_message_id", "revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_USAGE_FIELD_NUMBER: _ClassVar[int]
    FORKED_FROM_FIELD_NUMBER: _ClassVar[int]
    FORKED_AT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    created_at_ms: int
    updated_at_ms: int
    message_count: int
    file_count: int
    total_usage: Usage
    forked_from: str
    forked_at_message_id: int
    revision: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., message_count: _Optional[int] = ..., file_count: _Optional[int] = ..., total_usage: _Optional[_Union[Usage, _Mapping]] = ..., forked_from: _Optional[str] = ..., forked_at_message_id: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: str
    def __init__(self, project: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionInfo]
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionInfo, _Mapping]]] = ...) -> None: ...

class SaveSessionRequest(_message.Message):
    __slots__ = ("project", "name", "mode", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    mode: SaveMode
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., mode: _Optional[_Union[SaveMode, str]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class LoadSessionRequest(_message.Message):
    __slots__ = ("project", "name", "messages", "files", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    messages: bool
    files: bool
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., messages: bool = ..., files: bool = ..., expected_revision: _Optional[int] = ...) -> None: ...

class RenameSessionRequest(_message.Message):
    __slots__ = ("project", "name", "new_name", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    new_name: str
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., new_name: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("project", "name", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ("trash_id",)
    TRASH_ID_FIELD_NUMBER: _ClassVar[int]
    trash_id: str
    def __init__(self, trash_id: _Optional[str] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("project", "name", "after_message_id", "limit")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AFTER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    after_message_id: int
    limit: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., after_message_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class TrashEntry(_message.Message):
    __slots__ = ("id", "project", "name", "reason", "trashed_at_ms", "message_count", "file_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TRASHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    project: str
    name: str
    reason: str
    trashed_at_ms: int
    message_count: int
    file_count: int
    def __init__(self, id: _Optional[str] = ..., project: _Optional[str] = ..., name: _Optional[str] = ..., reason: _Optional[str] = ..., trashed_at_ms: _Optional[int] = ..., message_count: _Optional[int] = ..., file_count: _Optional[int] = ...) -> None: ...

class ListTrashRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: str
    def __init__(self, project: _Optional[str] = ...) -> None: ...

class ListTrashResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TrashEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[TrashEntry, _Mapping]]] = ...) -> None: ...

class RestoreTrashRequest(_message.Message):
    __slots__ = ("id", "new_name", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    new_name: str
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., new_name: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class PurgeTrashRequest(_message.Message):
    __slots__ = ("id", "older_than_ms", "expected_revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    OLDER_THAN_MS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    older_than_ms: int
    expected_revision: int
    def __init__(self, id: _Optional[str] = ..., older_than_ms: _Optional[int] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class PurgeTrashResponse(_message.Message):
    __slots__ = ("purged",)
    PURGED_FIELD_NUMBER: _ClassVar[int]
    purged: int
    def __init__(self, purged: _Optional[int] = ...) -> None: ...

class ExportRequest(_message.Message):
    __slots__ = ("project", "name", "time_zone")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    time_zone: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class ExportImageRequest(_message.Message):
    __slots__ = ("project", "name", "theme", "width_px", "scale", "max_page_height_px", "first_message_id", "last_message_id", "time_zone")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    THEME_FIELD_NUMBER: _ClassVar[int]
    WIDTH_PX_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    MAX_PAGE_HEIGHT_PX_FIELD_NUMBER: _ClassVar[int]
    FIRST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    theme: Theme
    width_px: int
    scale: float
    max_page_height_px: int
    first_message_id: int
    last_message_id: int
    time_zone: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., theme: _Optional[_Union[Theme, str]] = ..., width_px: _Optional[int] = ..., scale: _Optional[float] = ..., max_page_height_px: _Optional[int] = ..., first_message_id: _Optional[int] = ..., last_message_id: _Optional[int] = ..., time_zone: _Optional[str] = ...) -> None: ...

class ExportChunk(_message.Message):
    __slots__ = ("data", "page", "page_count", "last_in_page", "suggested_file_name", "missing_characters")
    DATA_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_IN_PAGE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    MISSING_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    page: int
    page_count: int
    last_in_page: bool
    suggested_file_name: str
    missing_characters: str
    def __init__(self, data: _Optional[bytes] = ..., page: _Optional[int] = ..., page_count: _Optional[int] = ..., last_in_page: bool = ..., suggested_file_name: _Optional[str] = ..., missing_characters: _Optional[str] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: str
    def __init__(self, project: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("project", "revision", "kind", "message", "files", "session_name", "at_ms", "delta")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    SESSION_NAME_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    project: str
    revision: int
    kind: EventKind
    message: Message
    files: _containers.RepeatedCompositeFieldContainer[ContextFile]
    session_name: str
    at_ms: int
    delta: str
    def __init__(self, project: _Optional[str] = ..., revision: _Optional[int] = ..., kind: _Optional[_Union[EventKind, str]] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., files: _Optional[_Iterable[_Union[ContextFile, _Mapping]]] = ..., session_name: _Optional[str] = ..., at_ms: _Optional[int] = ..., delta: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DaemonStatus(_message.Message):
    __slots__ = ("version", "pid", "socket", "data_dir", "project_count", "saved_session_count", "trash_count", "started_at_ms", "schema_version")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    SOCKET_FIELD_NUMBER: _ClassVar[int]
    DATA_DIR_FIELD_NUMBER: _ClassVar[int]
    PROJECT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SAVED_SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRASH_COUNT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    pid: int
    socket: str
    data_dir: str
    project_count: int
    saved_session_count: int
    trash_count: int
    started_at_ms: int
    schema_version: int
    def __init__(self, version: _Optional[str] = ..., pid: _Optional[int] = ..., socket: _Optional[str] = ..., data_dir: _Optional[str] = ..., project_count: _Optional[int] = ..., saved_session_count: _Optional[int] = ..., trash_count: _Optional[int] = ..., started_at_ms: _Optional[int] = ..., schema_version: _Optional[int] = ...) -> None: ...

class ExportBundleRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: str
    def __init__(self, project: _Optional[str] = ...) -> None: ...

class ImportBundleChunk(_message.Message):
    __slots__ = ("data", "project", "as_name", "replace_working")
    DATA_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    AS_NAME_FIELD_NUMBER: _ClassVar[int]
    REPLACE_WORKING_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    project: str
    as_name: str
    replace_working: bool
    def __init__(self, data: _Optional[bytes] = ..., project: _Optional[str] = ..., as_name: _Optional[str] = ..., replace_working: bool = ...) -> None: ...

class ImportedSession(_message.Message):
    __slots__ = ("project", "kind", "name", "imported_as_kind", "imported_as", "message_count", "file_count")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_AS_KIND_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_AS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    project: str
    kind: BundleSessionKind
    name: str
    imported_as_kind: BundleSessionKind
    imported_as: str
    message_count: int
    file_count: int
    def __init__(self, project: _Optional[str] = ..., kind: _Optional[_Union[BundleSessionKind, str]] = ..., name: _Optional[str] = ..., imported_as_kind: _Optional[_Union[BundleSessionKind, str]] = ..., imported_as: _Optional[str] = ..., message_count: _Optional[int] = ..., file_count: _Optional[int] = ...) -> None: ...

class ImportBundleResponse(_message.Message):
    __slots__ = ("project_count", "session_count", "trash_count", "message_count", "sessions", "bundle_bytes")
    PROJECT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SESSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRASH_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    project_count: int
    session_count: int
    trash_count: int
    message_count: int
    sessions: _containers.RepeatedCompositeFieldContainer[ImportedSession]
    bundle_bytes: int
    def __init__(self, project_count: _Optional[int] = ..., session_count: _Optional[int] = ..., trash_count: _Optional[int] = ..., message_count: _Optional[int] = ..., sessions: _Optional[_Iterable[_Union[ImportedSession, _Mapping]]] = ..., bundle_bytes: _Optional[int] = ...) -> None: ...

class FollowAiderRequest(_message.Message):
    __slots__ = ("project", "path", "catch_up")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    project: str
    path: str
    catch_up: bool
    def __init__(self, project: _Optional[str] = ..., path: _Optional[str] = ..., catch_up: bool = ...) -> None: ...

class AiderFollow(_message.Message):
    __slots__ = ("project", "path", "since_ms", "messages_appended", "messages_updated", "last_error")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_APPENDED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_UPDATED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    project: str
    path: str
    since_ms: int
    messages_appended: int
    messages_updated: int
    last_error: str
    def __init__(self, project: _Optional[str] = ..., path: _Optional[str] = ..., since_ms: _Optional[int] = ..., messages_appended: _Optional[int] = ..., messages_updated: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class UnfollowAiderRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: str
    def __init__(self, project: _Optional[str] = ...) -> None: ...

class UnfollowAiderResponse(_message.Message):
    __slots__ = ("was_following", "follow")
    WAS_FOLLOWING_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    was_following: bool
    follow: AiderFollow
    def __init__(self, was_following: bool = ..., follow: _Optional[_Union[AiderFollow, _Mapping]] = ...) -> None: ...

class ListAiderFollowsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAiderFollowsResponse(_message.Message):
    __slots__ = ("follows",)
    FOLLOWS_FIELD_NUMBER: _ClassVar[int]
    follows: _containers.RepeatedCompositeFieldContainer[AiderFollow]
    def __init__(self, follows: _Optional[_Iterable[_Union[AiderFollow, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("query", "project", "include_trash", "limit", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TRASH_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    project: str
    include_trash: bool
    limit: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., project: _Optional[str] = ..., include_trash: bool = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("project", "kind", "session_name", "message_id", "role", "created_at_ms", "snippet", "highlights", "score", "model")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SESSION_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    HIGHLIGHTS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    project: str
    kind: SessionKind
    session_name: str
    message_id: int
    role: Role
    created_at_ms: int
    snippet: str
    highlights: _containers.RepeatedCompositeFieldContainer[Span]
    score: float
    model: str
    def __init__(self, project: _Optional[str] = ..., kind: _Optional[_Union[SessionKind, str]] = ..., session_name: _Optional[str] = ..., message_id: _Optional[int] = ..., role: _Optional[_Union[Role, str]] = ..., created_at_ms: _Optional[int] = ..., snippet: _Optional[str] = ..., highlights: _Optional[_Iterable[_Union[Span, _Mapping]]] = ..., score: _Optional[float] = ..., model: _Optional[str] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "next_page_token", "total_hits", "index_catching_up")
    HITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_HITS_FIELD_NUMBER: _ClassVar[int]
    INDEX_CATCHING_UP_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    next_page_token: str
    total_hits: int
    index_catching_up: bool
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_hits: _Optional[int] = ..., index_catching_up: bool = ...) -> None: ...

class ForkSessionRequest(_message.Message):
    __slots__ = ("project", "source_name", "at_message_id", "new_name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    AT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    source_name: str
    at_message_id: int
    new_name: str
    def __init__(self, project: _Optional[str] = ..., source_name: _Optional[str] = ..., at_message_id: _Optional[int] = ..., new_name: _Optional[str] = ...) -> None: ...

class RewindWorkingRequest(_message.Message):
    __slots__ = ("project", "keep_through_message_id", "expected_revision")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    KEEP_THROUGH_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    project: str
    keep_through_message_id: int
    expected_revision: int
    def __init__(self, project: _Optional[str] = ..., keep_through_message_id: _Optional[int] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class ImportSourceRequest(_message.Message):
    __slots__ = ("kind", "paths", "project", "dry_run")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    kind: SourceKind
    paths: _containers.RepeatedScalarFieldContainer[str]
    project: str
    dry_run: bool
    def __init__(self, kind: _Optional[_Union[SourceKind, str]] = ..., paths: _Optional[_Iterable[str]] = ..., project: _Optional[str] = ..., dry_run: bool = ...) -> None: ...

class SkippedLine(_message.Message):
    __slots__ = ("file", "line", "reason")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    reason: str
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportSourceSummary(_message.Message):
    __slots__ = ("sessions_imported", "sessions_updated", "messages_imported", "skipped", "projects", "files_read", "bytes_read", "dry_run", "sessions_found", "messages_found", "oldest_ms", "newest_ms", "messages_updated", "sessions")
    SESSIONS_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_UPDATED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    FILES_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FOUND_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FOUND_FIELD_NUMBER: _ClassVar[int]
    OLDEST_MS_FIELD_NUMBER: _ClassVar[int]
    NEWEST_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_UPDATED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions_imported: int
    sessions_updated: int
    messages_imported: int
    skipped: _containers.RepeatedCompositeFieldContainer[SkippedLine]
    projects: _containers.RepeatedScalarFieldContainer[str]
    files_read: int
    bytes_read: int
    dry_run: bool
    sessions_found: int
    messages_found: int
    oldest_ms: int
    newest_ms: int
    messages_updated: int
    sessions: _containers.RepeatedCompositeFieldContainer[ImportedSourceSession]
    def __init__(self, sessions_imported: _Optional[int] = ..., sessions_updated: _Optional[int] = ..., messages_imported: _Optional[int] = ..., skipped: _Optional[_Iterable[_Union[SkippedLine, _Mapping]]] = ..., projects: _Optional[_Iterable[str]] = ..., files_read: _Optional[int] = ..., bytes_read: _Optional[int] = ..., dry_run: bool = ..., sessions_found: _Optional[int] = ..., messages_found: _Optional[int] = ..., oldest_ms: _Optional[int] = ..., newest_ms: _Optional[int] = ..., messages_updated: _Optional[int] = ..., sessions: _Optional[_Iterable[_Union[ImportedSourceSession, _Mapping]]] = ...) -> None: ...

class ImportedSourceSession(_message.Message):
    __slots__ = ("project", "name", "created", "started_at_ms")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    created: bool
    started_at_ms: int
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., created: bool = ..., started_at_ms: _Optional[int] = ...) -> None: ...

class FollowSourceRequest(_message.Message):
    __slots__ = ("kind", "project", "all", "paths", "aider_history", "aider_catch_up")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    AIDER_HISTORY_FIELD_NUMBER: _ClassVar[int]
    AIDER_CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    kind: SourceKind
    project: str
    all: bool
    paths: _containers.RepeatedScalarFieldContainer[str]
    aider_history: str
    aider_catch_up: bool
    def __init__(self, kind: _Optional[_Union[SourceKind, str]] = ..., project: _Optional[str] = ..., all: bool = ..., paths: _Optional[_Iterable[str]] = ..., aider_history: _Optional[str] = ..., aider_catch_up: bool = ...) -> None: ...

class SourceFollow(_message.Message):
    __slots__ = ("kind", "project", "all", "paths", "since_ms", "messages_imported", "last_error", "files")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    kind: SourceKind
    project: str
    all: bool
    paths: _containers.RepeatedScalarFieldContainer[str]
    since_ms: int
    messages_imported: int
    last_error: str
    files: int
    def __init__(self, kind: _Optional[_Union[SourceKind, str]] = ..., project: _Optional[str] = ..., all: bool = ..., paths: _Optional[_Iterable[str]] = ..., since_ms: _Optional[int] = ..., messages_imported: _Optional[int] = ..., last_error: _Optional[str] = ..., files: _Optional[int] = ...) -> None: ...

class UnfollowSourceRequest(_message.Message):
    __slots__ = ("kind", "project", "all")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    kind: SourceKind
    project: str
    all: bool
    def __init__(self, kind: _Optional[_Union[SourceKind, str]] = ..., project: _Optional[str] = ..., all: bool = ...) -> None: ...

class UnfollowSourceResponse(_message.Message):
    __slots__ = ("was_following", "follow")
    WAS_FOLLOWING_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    was_following: bool
    follow: SourceFollow
    def __init__(self, was_following: bool = ..., follow: _Optional[_Union[SourceFollow, _Mapping]] = ...) -> None: ...

class ListSourceFollowsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSourceFollowsResponse(_message.Message):
    __slots__ = ("follows",)
    FOLLOWS_FIELD_NUMBER: _ClassVar[int]
    follows: _containers.RepeatedCompositeFieldContainer[SourceFollow]
    def __init__(self, follows: _Optional[_Iterable[_Union[SourceFollow, _Mapping]]] = ...) -> None: ...

class ImportSourceProgress(_message.Message):
    __slots__ = ("files_done", "files_total", "bytes_done", "bytes_total", "file", "done")
    FILES_DONE_FIELD_NUMBER: _ClassVar[int]
    FILES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    file: str
    done: ImportSourceSummary
    def __init__(self, files_done: _Optional[int] = ..., files_total: _Optional[int] = ..., bytes_done: _Optional[int] = ..., bytes_total: _Optional[int] = ..., file: _Optional[str] = ..., done: _Optional[_Union[ImportSourceSummary, _Mapping]] = ...) -> None: ...
