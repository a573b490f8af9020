import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { PaygraphProvider } from "@paygraph/react";
import "@paygraph/react/styles.css";
import "./shop.css";
import { OrderPage } from "./OrderPage";
import { customerId, getToken } from "./token";

const api = import.meta.env.VITE_PAYGRAPH_URL as string;

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <PaygraphProvider url={`${api}/graphql`} getToken={getToken} merchantName="Kora Handloom">
      <OrderPage customerId={customerId} />
    </PaygraphProvider>
  </StrictMode>,
);
