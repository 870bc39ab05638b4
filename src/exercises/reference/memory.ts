/** The reference for exercise 1 is the shop's own memory store, exactly as the shop runs it. */
import { createMemoryStore } from "../../session/stores/memory-store.ts";

export const createStore = () => createMemoryStore();
