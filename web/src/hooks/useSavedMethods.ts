import { useCallback, useState } from "react";
import { useQuery } from "urql";
import { DeleteSavedMethodDocument, SavedMethodsDocument, SetDefaultSavedMethodDocument } from "../documents.js";
import { fromCombinedError, type PaygraphError } from "../errors.js";
import { usePaygraph } from "../provider.js";
import type { SavedMethod } from "../types.js";
import { runMutation, unionOutcome, type Outcome } from "./operations.js";

const errorOf = (outcome: Outcome<unknown>): PaygraphError | null => (outcome.ok ? null : outcome.error);

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

  // Run one change, remember its error (null on success) and refresh the list either way.
  const act = useCallback(
    async (change: Promise<PaygraphError | null>) => {
      const error = await change;
      setActionError(error);
      refetch();
      return error;
    },
    [refetch],
  );
  const setDefault = useCallback(
    (id: string) =>
      act(
        runMutation(client, SetDefaultSavedMethodDocument, { id }).then((outcome) =>
          outcome.ok ? errorOf(unionOutcome(outcome.value.setDefaultSavedMethod, "SavedMethodSuccess")) : outcome.error,
        ),
      ),
    [act, client],
  );
  const remove = useCallback(
    (id: string) =>
      act(
        runMutation(client, DeleteSavedMethodDocument, { id }).then((outcome) =>
          outcome.ok ? errorOf(unionOutcome(outcome.value.deleteSavedMethod, "DeleteSavedMethodSuccess")) : outcome.error,
        ),
      ),
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
