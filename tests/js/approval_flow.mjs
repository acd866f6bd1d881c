// The retail approval flow through the official LangGraph JavaScript SDK, making the calls
// Agent Chat UI makes (useStream's submit, history, thread list), against a running Waypost.
//
//   node approval_flow.mjs <waypost url> <message A> <message B>
//
// A: stream a run to its approval, answer it with a LangChain v1 HITL resume, read the reply.
// B: stream a run to its approval, decide it with POST /approvals/{id}/decision, join the
//    resume run's stream for the reply; a late HITL resume of the same approval is refused.
// Prints one JSON object (what was seen) for tests/api/test_js_sdk.py to check.

import { Client } from "@langchain/langgraph-sdk";

const [url, messageA, messageB] = process.argv.slice(2);
const ASSISTANT = "retail_support";
// Agent Chat UI's Next.js passthrough sends this placeholder key: ignored while auth is off
const client = new Client({ apiUrl: url, apiKey: "remove-me", defaultHeaders: { "X-Auth-Scheme": "langsmith" } });

async function collect(stream) {
  const events = [];
  for await (const part of stream) events.push({ event: part.event, data: part.data });
  return events;
}

function lastValues(events) {
  return events.filter((e) => e.event === "values").at(-1)?.data;
}

function streamedText(events) {
  // messages-tuple: [chunk, metadata] pairs, concatenated by message id
  const byId = new Map();
  for (const { event, data } of events) {
    if (event !== "messages") continue;
    const [chunk] = data;
    if (!chunk?.id) continue;
    const text = typeof chunk.content === "string" ? chunk.content : "";
    byId.set(chunk.id, { type: chunk.type, text: (byId.get(chunk.id)?.text ?? "") + text });
  }
  return [...byId.values()];
}

// useStream's first submit on a new thread: human message with content blocks and an id
async function submitMessage(threadId, text) {
  let created;
  const events = await collect(
    client.runs.stream(threadId, ASSISTANT, {
      input: {
        messages: [{ id: crypto.randomUUID(), type: "human", content: [{ type: "text", text }] }],
      },
      streamMode: ["values", "messages-tuple", "custom"],
      streamSubgraphs: true,
      streamResumable: true,
      onDisconnect: "continue",
      onRunCreated: (meta) => {
        created = meta;
      },
    }),
  );
  return { events, created };
}

function headCheckpoint(history) {
  const { thread_id: _dropped, ...checkpoint } = history[0].checkpoint;
  return checkpoint;
}

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (error) {
    return error?.status ?? error?.response?.status ?? String(error);
  }
}

const out = {};

const info = await fetch(`${url}/info`, { headers: { "X-Api-Key": "remove-me" } });
out.info = info.status;

// -- A: HITL resume ---------------------------------------------------------------------------
{
  const thread = await client.threads.create({ metadata: {} });
  const { events, created } = await submitMessage(thread.thread_id, messageA);
  const values = lastValues(events);
  const interrupt = values?.__interrupt__?.[0];
  const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
  const afterRun = await client.threads.get(thread.thread_id);
  const byGraph = await client.threads.search({ metadata: { graph_id: ASSISTANT }, limit: 100, offset: 0 });
  const byAssistant = await client.threads.search({
    metadata: { assistant_id: afterRun.metadata.assistant_id },
    limit: 100,
    offset: 0,
  });
  const listed = byGraph.find((t) => t.thread_id === thread.thread_id);
  const resumed = await collect(
    client.runs.stream(thread.thread_id, ASSISTANT, {
      input: {},
      command: { resume: { decisions: [{ type: "approve" }] } },
      checkpoint: headCheckpoint(history),
      streamMode: ["messages-tuple", "values", "custom"],
      streamResumable: false,
      onDisconnect: "cancel",
    }),
  );
  const final = await client.threads.getState(thread.thread_id);
  out.a = {
    thread_id: thread.thread_id,
    first_event: events[0]?.event,
    created,
    run_metadata: events[0]?.data,
    interrupt_id: interrupt?.id,
    action_requests: interrupt?.value?.action_requests,
    review_configs: interrupt?.value?.review_configs,
    agent_inbox: { action_request: interrupt?.value?.action_request, config: interrupt?.value?.config },
    streamed_before_approval: streamedText(events),
    history_next: history[0]?.next,
    history_interrupts: history[0]?.tasks?.flatMap((t) => t.interrupts ?? []).map((i) => i.id),
    thread_metadata: afterRun.metadata,
    listed_by_graph_id: Boolean(listed),
    listed_by_assistant_id: byAssistant.some((t) => t.thread_id === thread.thread_id),
    listed_first_message: listed?.values?.messages?.[0]?.content,
    resumed_events: resumed.map((e) => e.event),
    streamed_after_approval: streamedText(resumed),
    final_messages: final.values.messages.map((m) => ({ type: m.type, content: m.content })),
    final_next: final.next,
  };
}

// -- B: the approvals API decides, a late HITL resume is refused --------------------------------
{
  const thread = await client.threads.create({ metadata: {} });
  const { events } = await submitMessage(thread.thread_id, messageB);
  const interrupt = lastValues(events)?.__interrupt__?.[0];
  const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
  const pending = await (await fetch(`${url}/approvals?status=pending&thread_id=${thread.thread_id}`)).json();
  const approval = pending.items?.[0] ?? pending[0];
  const decided = await fetch(`${url}/approvals/${approval.id}/decision`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ decision: "approve", comment: "ok from the approvals API" }),
  });
  const decision = await decided.json();
  const resumeRunId = decision.resume_run_id ?? decision.run?.run_id ?? decision.approval?.resume_run_id;
  const joined = await collect(client.runs.joinStream(thread.thread_id, resumeRunId, { streamMode: ["values", "messages-tuple"] }));
  const late = await status(
    collect(
      client.runs.stream(thread.thread_id, ASSISTANT, {
        input: {},
        command: { resume: { decisions: [{ type: "reject", message: "too late" }] } },
        checkpoint: headCheckpoint(history),
        streamMode: ["values"],
      }),
    ),
  );
  const final = await client.threads.getState(thread.thread_id);
  out.b = {
    thread_id: thread.thread_id,
    interrupt_id: interrupt?.id,
    approval_interrupt_id: approval?.interrupt_id,
    decision_status: decided.status,
    joined_events: joined.map((e) => e.event),
    streamed_after_approval: streamedText(joined),
    late_resume_status: late,
    final_messages: final.values.messages.map((m) => ({ type: m.type, content: m.content })),
  };
}

console.log(JSON.stringify(out));
