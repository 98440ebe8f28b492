"""The seed's echo server, as a FastMCP app serving streamable HTTP at /mcp on $HOST:$PORT."""
import os

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("Echo", host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))


@mcp.tool()
def echo(message: str) -> str:
    """Echo a message back."""
    return f"Echo: {message}"


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
