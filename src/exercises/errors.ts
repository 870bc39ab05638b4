/** A student's store cannot run the shop (student-store.ts): the message says which property broke and how to see more. Its own file, so server.ts can recognise it without loading the grader. */
export class StudentStoreError extends Error {}
