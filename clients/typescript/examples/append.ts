// Appends one message to a project's working session, the way an editor
// plugin would, and prints what the daemon acknowledged.
//
//   node dist/examples/append.js "Why does login fail?"                 # project: the current directory
//   node dist/examples/append.js --role assistant --model gpt-5 -C ~/src/app "Because..."
//
// The socket is found like the CLI finds it ($CHRONICLE_SOCKET, ...).
import { parseArgs } from "node:util";

import { Client, ChronicleError, Unavailable, type RoleName } from "../src/index";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      project: { type: "string", short: "C", default: process.cwd() },
      role: { type: "string", default: "user" },
      model: { type: "string" },
    },
  });
  if (positionals.length !== 1) {
    console.error("usage: append.js [-C PROJECT] [--role user|assistant|system|tool|log] [--model NAME] TEXT");
    return 2;
  }
  let client: Client;
  try {
    client = await Client.connect();
  } catch (error) {
    // A frontend would run `chronicle daemon start` here (or rely on the login service).
    console.error(error instanceof ChronicleError ? error.message : error);
    return error instanceof Unavailable ? 3 : 1;
  }
  try {
    const ack = await client.append(values.project!, positionals[0], {
      role: values.role as RoleName,
      model: values.model,
    });
    console.log(`appended message ${ack.messageId}; the working session is now at revision ${ack.revision}`);
    return 0;
  } catch (error) {
    if (!(error instanceof ChronicleError)) throw error;
    console.error(`${error.name}: ${error.message}`);
    return 1;
  } finally {
    client.close();
  }
}

main().then((code) => process.exit(code));
