/** DateTime arrives as an ISO-8601 string (see codegen.yml): a Date where it is shown. */
export const toDate = (iso: string): Date => new Date(iso);
