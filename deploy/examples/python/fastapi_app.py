"""The seed's own stack, FastAPI, arranged so that it works: one MCP server per app, one app per process.

The original report mounted two MCP servers in one FastAPI app. Starlette runs no lifespan of a
mounted app, so each server's session manager has to be started by the parent's lifespan, and
only the first one was ("Task group is not initialized"); mounting at /echo also answered
/echo/mcp with a 307 to /echo/mcp/. Here the app holds one server, whose session manager its own
lifespan runs, mounted at the root so that /mcp is served as is. mcpmux runs one process of this
app per server and gives each its prefix. The app keeps routes of its own beside MCP: /healthz
here, which mcpmux's liveness probe calls.

MCP_SERVER names the module whose `mcp` object to serve (echo_server or math_server).
Run: uvicorn fastapi_app:app --host 127.0.0.1 --port 8000
"""
import contextlib
import importlib
import os

from fastapi import FastAPI

server = importlib.import_module(os.environ.get("MCP_SERVER", "echo_server")).mcp
# Serves /mcp. It must be made before the lifespan starts: it creates the session manager.
mcp_app = server.streamable_http_app()


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    async with server.session_manager.run():
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "server": server.name}


app.mount("/", mcp_app)
