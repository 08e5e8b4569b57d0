// Connects Microsoft's SignalR client to the simulator's hub and reports, one JSON line each:
// the connection id, then every subscriptionUpdate it receives, until it has `want` of them.
// Usage: node hub_client.mjs <hub url> <token> <want>
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";

const [url, token, want] = process.argv.slice(2);
const connection = new HubConnectionBuilder()
  .withUrl(url, { accessTokenFactory: () => token })
  .configureLogging(LogLevel.Warning)
  .build();

let received = 0;
connection.on("subscriptionUpdate", async (message) => {
  console.log(JSON.stringify({ update: message }));
  received += 1;
  if (received >= Number(want)) {
    await connection.stop();
    process.exit(0);
  }
});

await connection.start();
const id = await connection.invoke("GetConnectionId");
console.log(JSON.stringify({ connectionId: id, transport: connection.connection.transport.constructor.name }));
setTimeout(() => { console.error("timed out"); process.exit(2); }, 20000);
