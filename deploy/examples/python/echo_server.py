"""The seed's echo server on the Python MCP SDK 2.x: streamable HTTP at /mcp on $HOST:$PORT, or stdio with the argument `stdio`."""
import os
import sys

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("Echo")


@mcp.tool()
def echo(message: str) -> str:
    """Echo a message back."""
    return f"Echo: {message}"


if __name__ == "__main__":
    if sys.argv[1:] == ["stdio"]:
        mcp.run(transport="stdio")
    else:
        mcp.run(transport="streamable-http", host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))
