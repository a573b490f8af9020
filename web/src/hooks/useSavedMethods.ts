import { useCallback, useState } from "react";
import { useQuery } from "urql";
import { DeleteSavedMethodDocument, SavedMethodsDocument, SetDefaultSavedMethodDocument } from "../documents.js";
import { fromCombinedError, type PaygraphError } from "../errors.js";
import { usePaygraph } from "../provider.js";
import type { SavedMethod } from "../types.js";
import { runMutation, unionOutcome } from "./operations.js";

export interface SavedMethods {
  /** The default first, expired ones included (`expired: true`). */
  methods: SavedMethod[];
  loading: boolean;
  error: PaygraphError | null;
  /** Make this the only default; null on success, else why not. */
  setDefault: (id: string) => Promise<PaygraphError | null>;
  /** Delete it; null on success, else why not. */
  remove: (id: string) => Promise<PaygraphError | null>;
  refetch: () => void;
}

export function useSavedMethods(): SavedMethods {
  const { client } = usePaygraph();
  const [result, reexecute] = useQuery({ query: SavedMethodsDocument });
  const [actionError, setActionError] = useState<PaygraphError | null>(null);
  const refetch = useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]);

  const act = useCallback(
    async (run: () => Promise<PaygraphError | null>) => {
      const error = await run();
      setActionError(error);
      refetch();
      return error;
    },
    [refetch],
  );
  const setDefault = useCallback(
    (id: string) =>
      act(async () => {
        const outcome = await runMutation(client, SetDefaultSavedMethodDocument, { id });
        if (!outcome.ok) return outcome.error;
        const union = unionOutcome(outcome.value.setDefaultSavedMethod, "SavedMethodSuccess");
        return union.ok ? null : union.error;
      }),
    [act, client],
  );
  const remove = useCallback(
    (id: string) =>
      act(async () => {
        const outcome = await runMutation(client, DeleteSavedMethodDocument, { id });
        if (!outcome.ok) return outcome.error;
        const union = unionOutcome(outcome.value.deleteSavedMethod, "DeleteSavedMethodSuccess");
        return union.ok ? null : union.error;
      }),
    [act, client],
  );
  return {
    methods: result.data?.savedMethods ?? [],
    loading: result.fetching,
    error: result.error ? fromCombinedError(result.error) : actionError,
    setDefault,
    remove,
    refetch,
  };
}
