import { useQuery } from "urql";
import { CheckoutOptionsDocument, SavedMethodsDocument } from "../documents.js";
import { fromCombinedError, type PaygraphError } from "../errors.js";
import type { Bank, SavedMethod, SupportedMethod, Wallet } from "../types.js";

export interface CheckoutOptions {
  /** What `supportedMethods(currency, amount)` offers, in the API's order. */
  methods: SupportedMethod[];
  /** The customer's saved methods that this order can use (not expired, offered for it). */
  savedMethods: SavedMethod[];
  banks: Bank[];
  wallets: Wallet[];
  loading: boolean;
  error: PaygraphError | null;
  refetch: () => void;
}

/** The methods a checkout can offer for `currency` and `amount` ("1499.00"), plus the signed-in
 * customer's usable saved methods. Pass `{savedMethods: false}` for a guest checkout. */
export function useCheckoutOptions(
  currency: string,
  amount?: string | null,
  options: { savedMethods?: boolean } = {},
): CheckoutOptions {
  const [offer, refetchOffer] = useQuery({ query: CheckoutOptionsDocument, variables: { currency, amount: amount ?? null } });
  const withSaved = options.savedMethods ?? true;
  const [saved, refetchSaved] = useQuery({ query: SavedMethodsDocument, pause: !withSaved });
  const methods = offer.data?.supportedMethods ?? [];
  const offered = new Set(methods.map((m) => `${m.method}:${m.gateway}`));
  const savedMethods = (saved.data?.savedMethods ?? []).filter(
    (s) => !s.expired && offered.has(`${s.methodType}:${s.gateway}`),
  );
  const error = offer.error ?? (withSaved ? saved.error : undefined);
  return {
    methods,
    savedMethods,
    banks: offer.data?.netbankingBanks ?? [],
    wallets: offer.data?.wallets ?? [],
    loading: offer.fetching || (withSaved && saved.fetching),
    error: error ? fromCombinedError(error) : null,
    refetch: () => {
      refetchOffer({ requestPolicy: "network-only" });
      if (withSaved) refetchSaved({ requestPolicy: "network-only" });
    },
  };
}
