"""The MCP door: ``/mcp``, the Model Context Protocol over streamable HTTP, for agents that act.

    POST /mcp ─ Gate (bearer token, per-user budget, caller upserted) ─ the SDK's session
    manager (stateless, JSON answers) ─ the low-level server ─ a tool (pm.mcp.tools) or a
    resource ─ one service entry ─ text (pm.mcp.render)

Stateless: every request carries its token and is served on its own, so the server keeps no
per-client session a client could pile up or another user could reuse; a request is bounded by
``mcp_max_request_bytes``. The SDK's session manager needs its task group running: the app's
lifespan enters ``McpDoor.running()``.

Resources: ``pm://projects/{key}/context`` (each visible project's context in Markdown) and
``pm://llm-context`` (the tenant's LLM context entries).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from starlette.routing import Route

from pm.doorkit.asgi import PmApp
from pm.doorkit.markdown import render_context
from pm.errors import PmError, ValidationFailed
from pm.mcp import render
from pm.mcp.gate import Gate, principal_of
from pm.mcp.inputs import input_schema
from pm.mcp.tools import TOOLS, TOOLS_BY_NAME, Call
from pm.observability import metrics
from pm.services import llm_context
from pm.services.read_models.project_context import project_context
from pm.services.read_models.projects import project_overview
from pm.wiring import Components

PATH = "/mcp"
CONTEXT_URI = re.compile(r"pm://projects/([^/]{1,64})/context")
LLM_CONTEXT_URI = "pm://llm-context"
INSTRUCTIONS = (
    "pm is an agile board. Items are named by short keys (APO-12; a project's key is APO): "
    "use them wherever an item or project is asked for. Start with list_projects, then "
    "get_project_context or search_work_items. Writes take an optional request_id: retrying "
    "with the same one applies the write once. A refusal starts with its code (CONFLICT, "
    "FORBIDDEN, NOT_FOUND, VALIDATION_ERROR...)."
)


class McpDoor:
    def __init__(self, components: Components) -> None:
        self.components = components
        self.tool_list = [
            types.Tool(name=t.name, description=t.description, input_schema=input_schema(t.input))
            for t in TOOLS
        ]
        schemas = {tool.name: tool.input_schema for tool in self.tool_list}
        self.server: Server[Any] = Server(
            "pm",
            version="0.1.0",
            instructions=INSTRUCTIONS,
            # The SDK checks a call's Mcp-Param headers against the tool's schema; without this
            # it would run the whole tools/list handler for every call to find one schema.
            get_tool_input_schema=schemas.get,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
        )
        # pm's request observer already traces each HTTP request (when tracing is on); the
        # SDK's own span per message would double them, and costs a call even when off.
        self.server.middleware = []
        self.sessions = StreamableHTTPSessionManager(
            app=self.server,
            json_response=True,
            stateless=True,
            max_request_body_size=components.settings.mcp_max_request_bytes,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.sessions.run():
            yield

    def _call(self, ctx: Any) -> Call:
        return Call(self.components.services, principal_of(ctx.request))

    async def _list_tools(self, _ctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tool_list)

    async def _call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = TOOLS_BY_NAME.get(params.name)
        label = tool.name if tool else "unknown"
        started = time.perf_counter()
        try:
            if tool is None:
                raise ValidationFailed(f"there is no tool named {params.name!r}", field="name")
            text = await tool.run(self._call(ctx), _parsed(tool.input, params.arguments))
        except PmError as exc:
            metrics.MCP_TOOL_CALLS.labels(label, exc.code).inc()
            return _result(render.refusal(exc), error=True)
        finally:
            metrics.MCP_TOOL_SECONDS.labels(label).observe(time.perf_counter() - started)
        metrics.MCP_TOOL_CALLS.labels(label, "OK").inc()
        return _result(text)

    async def _list_resources(self, ctx: Any, _params: Any) -> types.ListResourcesResult:
        overview = await self._call(ctx).query(project_overview)
        resources = [
            types.Resource(
                uri=f"pm://projects/{row['key']}/context",
                name=f"{row['key']} context",
                description=f"Project {row['title']}: tree, sprints, blocked items, activity",
                mime_type="text/markdown",
            )
            for row in overview
        ]
        resources.append(
            types.Resource(
                uri=LLM_CONTEXT_URI,
                name="How to use pm",
                description="Schema docs, rules, query patterns and examples",
                mime_type="text/markdown",
            )
        )
        return types.ListResourcesResult(resources=resources)

    async def _read_resource(
        self, ctx: Any, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        call = self._call(ctx)
        uri = str(params.uri)
        try:
            if uri == LLM_CONTEXT_URI:
                text = render.llm_context(await call.query(llm_context.list_llm_context))
            elif (found := CONTEXT_URI.fullmatch(uri)) is not None:
                report = await call.query(project_context, project_id=found.group(1))
                text = render_context(report)
            else:
                raise ValidationFailed("no such resource", field="uri")
        except PmError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=render.refusal(exc)) from None
        contents = types.TextResourceContents(uri=uri, mime_type="text/markdown", text=text)
        return types.ReadResourceResult(contents=[contents])


def _parsed(model: Any, arguments: dict[str, Any] | None) -> Any:
    try:
        return model.model_validate(arguments or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise ValidationFailed(f"{field}: {first['msg']}", field=field) from None


def _result(text: str, *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=error)


def install_mcp(app: PmApp, components: Components) -> McpDoor:
    """Route ``/mcp`` to the door behind its gate; the app's lifespan runs ``door.running()``."""
    door = McpDoor(components)
    gate = Gate(door.sessions.handle_request, components, app.user_limiter)
    app.router.routes.append(Route(PATH, gate, methods=["GET", "POST", "DELETE"]))
    return door
